#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Smoke test of the pipelines, for CI: both pipelines end to end on a small
# subset in a couple of minutes, checking what they leave behind.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIPELINE=smoke
HELP="Usage: pipelines/smoke.sh [--SETTING VALUE]...

Runs pipelines/simclr-cifar10.sh and pipelines/baselines.sh on a small
subset (LIMIT training images, batch 64, one epoch; EVAL_LIMIT images of
each split for the features), in a fresh RUN_DIR, and checks:
  1. a run stopped after 3 steps (MAX_STEPS) leaves a step checkpoint,
     which is evaluated: features, probe report, map, results, summary;
  2. the next run resumes from that checkpoint and completes the epoch;
  3. a third run skips every stage; --from probe reruns only the probe;
  4. a run with a time BUDGET chooses its EPOCHS from a trial, records
     them, and keeps them when it resumes;
  5. the baselines (random encoder, supervised) run and are scored.
Needs the CIFAR-10 archive (../shared/cifar10/cifar-10-binary.tar.gz beside
the repository, or CIFAR10_ARCHIVE); downloads nothing."

common_settings smoke
setting LIMIT 512 "training images of the smoke pretraining"
setting EVAL_LIMIT 512 "images of each split whose features are probed"
parse_args "$@"
[[ -z $FROM ]] || die "--from: not for the smoke test"
[[ -n $CIFAR10_ARCHIVE && -f $CIFAR10_ARCHIVE ]] ||
	die "no CIFAR-10 archive: put it at ../shared/cifar10/cifar-10-binary.tar.gz beside the repository or set CIFAR10_ARCHIVE=PATH (the smoke test downloads nothing)"
CIFAR10_ARCHIVE=$(absolute "$CIFAR10_ARCHIVE") RUN_DIR=$(absolute "$RUN_DIR")
cd "$ROOT"
start=$EPOCHREALTIME
# Start afresh, but delete only what an earlier smoke test made.
if [[ -d $RUN_DIR && -n $(ls -A "$RUN_DIR") && ! -e $RUN_DIR/.smoke ]]; then
	die "$RUN_DIR exists and is not a smoke test's run directory: choose another --run-dir"
fi
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
touch "$RUN_DIR/.smoke"

small=(--cifar10-archive "$CIFAR10_ARCHIVE" --data-dir "$DATA_DIR" --bin-dir "$BIN_DIR" --threads "$THREADS"
	--epochs 1 --batch 64 --warmup-epochs 0 --save-every 1 --limit "$LIMIT" --eval-limit "$EVAL_LIMIT"
	--knn 20 --probe-epochs 10 --max-steps 0 --monitor-limit 256)
simclr=(pipelines/simclr-cifar10.sh --run-dir "$RUN_DIR/simclr" "${small[@]}")

# pipeline LOG CMD... runs a pipeline, keeping its messages in LOG.
pipeline() {
	local log=$RUN_DIR/$1
	shift
	say "smoke: $*"
	"$@" 2>&1 | tee "$log"
}

same() { [[ $1 == "$2" ]] || die "check failed: $3: got $1, want $2"; }
has() { grep -qF -- "$2" "$RUN_DIR/$1" || die "check failed: $1 lacks \"$2\""; }
exists() {
	local f
	for f in "$@"; do [[ -s $f ]] || die "check failed: $f missing or empty"; done
}

steps=$((LIMIT / 64))
s=$RUN_DIR/simclr
pipeline 1-stopped.log "${simclr[@]}" --max-steps 3
exists "$s/data/train.arrow" "$s/augment_preview.png" "$s/pretrain/simclr_epoch000_step00003.safetensors" \
	"$s/features/train.arrow" "$s/features/test.arrow" "$s/linprobe.json" "$s/linprobe.txt" "$s/test_pca.png" \
	"$s/results.json" "$s/summary.md"
has 1-stopped.log "stopped before the end"
has 1-stopped.log "test top-1"

pipeline 2-resumed.log "${simclr[@]}"
has 2-resumed.log "pretrain: resuming from $s/pretrain/simclr_epoch000_step00003.safetensors"
has 2-resumed.log "fetch: $DATA_DIR has train.arrow and test.arrow, skipped"
has 2-resumed.log "preview: $s/augment_preview.png is up to date, skipped"
exists "$s/pretrain/simclr_epoch001.safetensors" "$s/pretrain/loss.png"
same "$(grep -c '"global_step"' "$s/pretrain/log.jsonl")" "$steps" "steps in pretrain/log.jsonl"
has simclr/summary.md "| simclr | imagenet | 1 of 1 (complete) | $steps | 64 | $LIMIT |"
has simclr/results.json '"checkpoint": "simclr_epoch001.safetensors"'
has simclr/summary.md "| SimCLR |"
# The initial encoder (epoch 0, before the first step) and the last epoch.
same "$(grep -c '"knn_top1"' "$s/pretrain/log.jsonl")" 2 "kNN monitor records in pretrain/log.jsonl"
has simclr/summary.md "kNN monitor (pretrain --monitor: 256 images against $LIMIT training images, k=200, T=0.1)"

pipeline 3-again.log "${simclr[@]}"
same "$(grep -c 'skipped' "$RUN_DIR/3-again.log")" 5 "steps skipped by a third run"
pipeline 4-from-probe.log "${simclr[@]}" --from probe
same "$(grep -c 'skipped' "$RUN_DIR/4-from-probe.log")" 4 "steps skipped with --from probe"
has 4-from-probe.log "probe: linear probe and kNN"

budget=("${simclr[@]}" --run-dir "$RUN_DIR/budget" --budget 1m --max-steps 1)
pipeline 5-budget.log "${budget[@]}"
has 5-budget.log "pretrain: BUDGET=1m: timing 20 steps"
has 5-budget.log "EPOCHS=1 is ignored"
epochs=$(sed -nE 's/.*BUDGET=1m: ([0-9]+) epochs of .*/\1/p' "$RUN_DIR/5-budget.log")
[[ -n $epochs ]] || die "check failed: 5-budget.log names no epochs for BUDGET=1m"
has budget/manifest/pretrain.settings " epochs=$epochs "
has budget/results.json '"BUDGET": "1m"'
[[ ! -e $RUN_DIR/budget/pretrain/trial ]] || die "check failed: the trial's directory is left behind"
pipeline 6-budget-resumed.log "${budget[@]}"
has 6-budget-resumed.log "pretrain: BUDGET=1m: $epochs epochs, as chosen when the run in $RUN_DIR/budget/pretrain began"
has 6-budget-resumed.log "pretrain: resuming from"

b=$RUN_DIR/baselines
pipeline 7-baselines.log pipelines/baselines.sh --run-dir "$b" "${small[@]}"
exists "$b/random/linprobe.json" "$b/random/test_pca.png" "$b/supervised/pretrain/supervised_epoch001.safetensors" \
	"$b/supervised/linprobe.json" "$b/supervised/test_pca.png" "$b/results.json" "$b/summary.md"
has baselines/summary.md "| random encoder (linear) |"
has baselines/summary.md "| supervised ResNet-18 |"
has baselines/summary.md "| supervised | imagenet | 1 of 1 (complete) |"

say "smoke: passed in $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }') s; the runs are in $RUN_DIR"
