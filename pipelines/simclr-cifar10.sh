#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SimCLR on CIFAR-10, end to end, by the reference recipe: ResNet-18
# pretrained with NT-Xent, Adam and a warmup then cosine decay, with
# pretrain's defaults (train.DefaultConfig; --help lists them); then the
# frozen encoder's features, scored by a linear probe and a kNN classifier.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIPELINE=simclr-cifar10
HELP="Usage: pipelines/simclr-cifar10.sh [--SETTING VALUE]... [--from STAGE]

SimCLR on CIFAR-10, end to end, by the reference recipe. Stages:
  fetch     cifar-fetch: the image tables into DATA_DIR, linked into RUN_DIR/data
  pretrain  augment --preview, then pretrain: checkpoints in RUN_DIR/pretrain
  extract   extract: features of the training and test images, RUN_DIR/features
  probe     linprobe: linear probe and kNN, RUN_DIR/linprobe.json, test_pca.png
then results.json and summary.md in RUN_DIR.

A stage is skipped when its outputs are newer than its inputs and it last
ran with the same settings (RUN_DIR/manifest). An interrupted pretraining
resumes from its newest checkpoint; changing its settings mid-run is refused
(use --from pretrain, or another RUN_DIR)."

common_settings simclr-cifar10
tool_setting pretrain EPOCHS "pretraining epochs"
setting BUDGET "" "pretraining time to fill instead, as 3h, 90m or 1h30m: EPOCHS is then the most that fit, from a 20-step trial of the settings on this machine"
tool_setting pretrain BATCH "images per pretraining step"
tool_setting pretrain LR "peak learning rate"
tool_setting pretrain WARMUP_EPOCHS "epochs of linear warmup before the cosine decay"
tool_setting pretrain TAU "NT-Xent temperature"
tool_setting pretrain STEM "encoder stem: imagenet, cifar or cifar-pool (pretrain --stem)"
tool_setting pretrain SEED "seed of pretraining, the preview and the probe"
tool_setting pretrain LIMIT "pretrain on the first N training images (0: all)"
tool_setting pretrain MAX_STEPS "stop pretraining after N steps in this invocation, to resume later (0: run to the end)"
tool_setting pretrain SAVE_EVERY "save a checkpoint every N epochs"
setting EVAL_LIMIT 0 "extract and probe the first N images of each split (0: all)"
setting KNN 200 "neighbours of the kNN classifier (0: off)"
tool_setting linprobe:EPOCHS PROBE_EPOCHS "epochs of the linear probe"
recipe_settings
parse_args "$@"
setup
TIMED_STAGES=(fetch preview pretrain extract probe)

stage_fetch
stage_preview "$RUN_DIR/augment_preview.png"
stage_pretrain pretrain "$RUN_DIR/pretrain" simclr
stage_extract extract "$RUN_DIR" --checkpoint "$CHECKPOINT"
stage_probe probe "$RUN_DIR"
write_results --title "SimCLR on CIFAR-10" --pretrain pretrain=pretrain \
	--eval "SimCLR=linprobe.json" "${REFERENCE[@]}" \
	--image "Augmented views (augment --preview: originals, then views)=augment_preview.png" \
	--image "Pretraining loss per epoch=pretrain/loss.png" \
	--image "Test features on their first two principal components=test_pca.png"
say "done: $RUN_DIR/summary.md"
