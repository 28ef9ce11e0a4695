#!/usr/bin/env bash
# The fast recipe: pipelines/simclr-cifar10.sh with the settings that give
# the most linear-eval accuracy per CPU-hour measured so far (README,
# "Pilots"): dkobak/simclr-cifar10's optimizer and head (SGD lr 0.06,
# momentum 0.9, weight decay 5e-4, head 512->1024->128), random crops of
# scale (0.2, 1), grayscale 0.1, no blur, 25 epochs. Each setting is still
# a flag or an environment variable, as in the main pipeline.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RUN_DIR=${RUN_DIR-$root/runs/fast} EPOCHS=${EPOCHS-25} WARMUP_EPOCHS=${WARMUP_EPOCHS-2} \
	OPTIMIZER=${OPTIMIZER-sgd} LR=${LR-0.06} MOMENTUM=${MOMENTUM-0.9} WEIGHT_DECAY=${WEIGHT_DECAY-5e-4} \
	PROJ_HIDDEN=${PROJ_HIDDEN-1024} PROJ_OUT=${PROJ_OUT-128} \
	CROP_SCALE_MIN=${CROP_SCALE_MIN-0.2} BLUR=${BLUR-false} GRAY_P=${GRAY_P-0.1}
for a in "$@"; do
	if [[ $a == -h || $a == --help ]]; then
		printf '%s\n\n' "pipelines/fast.sh: the fast recipe, run by pipelines/simclr-cifar10.sh with the
settings marked 'here' below. 25 epochs took 2 h 8 min of pretraining on
the slowest CPU measured (AMD EPYC Zen 1, fp32, 325 views/s; README,
Results); at the 904 views/s of the 20-epoch pilot on Zen 4 (bf16) they take
about 46 min. For a budget of H hours, EPOCHS = H x 3600 x views/s / 99840."
		break
	fi
done
exec "$root/pipelines/simclr-cifar10.sh" "$@"
