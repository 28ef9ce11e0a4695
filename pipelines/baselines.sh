#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The baselines of the reference results table: a randomly initialised
# ResNet-18 and a supervised one, each scored as SimCLR's encoder is (frozen
# features of the training and test images, linear probe and kNN).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIPELINE=baselines
HELP="Usage: pipelines/baselines.sh [--SETTING VALUE]... [--from STAGE]

The reference's baselines on CIFAR-10, each encoder evaluated like SimCLR's:
  random encoder  extract --random-init (seed SEED, stem STEM), in RUN_DIR/random
  supervised      pretrain --objective supervised (cross-entropy on the labels
                  through Linear(512,10), crop-and-flip views, lr and schedule
                  as SimCLR's), in RUN_DIR/supervised
Stages: fetch, pretrain (supervised), extract (both), probe (both); then
results.json and summary.md in RUN_DIR. Skipping, resuming and --from work
as in pipelines/simclr-cifar10.sh."

common_settings baselines
tool_setting pretrain EPOCHS "supervised training epochs"
tool_setting pretrain BATCH "images per supervised training step"
tool_setting pretrain LR "peak learning rate (Adam)"
tool_setting pretrain WARMUP_EPOCHS "epochs of linear warmup before the cosine decay"
tool_setting pretrain STEM "encoder stem: imagenet or cifar"
tool_setting pretrain SEED "seed of the random encoder, the supervised training and the probe"
tool_setting pretrain LIMIT "train the supervised encoder on the first N training images (0: all)"
tool_setting pretrain MAX_STEPS "stop supervised training after N steps in this invocation, to resume later (0: run to the end)"
tool_setting pretrain SAVE_EVERY "save a checkpoint every N epochs"
setting EVAL_LIMIT 0 "extract and probe the first N images of each split (0: all)"
setting KNN 200 "neighbours of the kNN classifier (0: off)"
tool_setting linprobe:EPOCHS PROBE_EPOCHS "epochs of the linear probe"
parse_args "$@"
setup
TIMED_STAGES=(fetch random-extract random-probe supervised-pretrain supervised-extract supervised-probe)

stage_fetch
stage_extract random-extract "$RUN_DIR/random" --random-init --seed "$SEED" --stem "$STEM"
stage_probe random-probe "$RUN_DIR/random"
stage_pretrain supervised-pretrain "$RUN_DIR/supervised/pretrain" supervised
stage_extract supervised-extract "$RUN_DIR/supervised" --checkpoint "$CHECKPOINT"
stage_probe supervised-probe "$RUN_DIR/supervised"
write_results --title "Baselines on CIFAR-10" --pretrain supervised-pretrain=supervised/pretrain \
	--eval "random encoder (linear)=random/linprobe.json" --eval "supervised ResNet-18=supervised/linprobe.json" \
	"${REFERENCE[@]}" \
	--image "Random encoder: test features on their first two principal components=random/test_pca.png" \
	--image "Supervised training loss per epoch=supervised/pretrain/loss.png" \
	--image "Supervised encoder: test features on their first two principal components=supervised/test_pca.png"
say "done: $RUN_DIR/summary.md"
