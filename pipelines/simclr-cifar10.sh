#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SimCLR on CIFAR-10, end to end, by the reference recipe: ResNet-18 with
# the ImageNet stem, 100 epochs of batch 256, Adam at 3e-4 with 10 warmup
# epochs then cosine decay, NT-Xent at temperature 0.5; then the frozen
# encoder's features, scored by a linear probe and a kNN classifier.
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
setting EPOCHS 100 "pretraining epochs"
setting BATCH 256 "images per pretraining step"
setting LR 3e-4 "peak learning rate (Adam)"
setting WARMUP_EPOCHS 10 "epochs of linear warmup before the cosine decay"
setting TAU 0.5 "NT-Xent temperature"
setting STEM imagenet "encoder stem: imagenet or cifar"
setting SEED 0 "seed of pretraining, the preview and the probe"
setting LIMIT 0 "pretrain on the first N training images (0: all)"
setting MAX_STEPS 0 "stop pretraining after N steps in this invocation, to resume later (0: run to the end)"
setting SAVE_EVERY 10 "save a checkpoint every N epochs"
setting EVAL_LIMIT 0 "extract and probe the first N images of each split (0: all)"
setting KNN 200 "neighbours of the kNN classifier (0: off)"
setting PROBE_EPOCHS 90 "epochs of the linear probe"
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
