#!/usr/bin/env bash
# The fast recipe: pipelines/simclr-cifar10.sh with the settings that give
# the most linear-eval accuracy per CPU-hour measured so far (README,
# "Pilots"): the cifar-pool stem, dkobak/simclr-cifar10's optimizer and head
# (SGD lr 0.06, momentum 0.9, weight decay 5e-4, head 512->1024->128),
# random crops of scale (0.2, 1), grayscale 0.1, no blur, and as many
# epochs as fit in a 3-hour budget on this machine. Each setting is still a
# flag or an environment variable, as in the main pipeline.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export RUN_DIR=${RUN_DIR-$root/runs/fast} STEM=${STEM-cifar-pool} BUDGET=${BUDGET-3h} WARMUP_EPOCHS=${WARMUP_EPOCHS-2} \
	OPTIMIZER=${OPTIMIZER-sgd} LR=${LR-0.06} MOMENTUM=${MOMENTUM-0.9} WEIGHT_DECAY=${WEIGHT_DECAY-5e-4} \
	PROJ_HIDDEN=${PROJ_HIDDEN-1024} PROJ_OUT=${PROJ_OUT-128} \
	CROP_SCALE_MIN=${CROP_SCALE_MIN-0.2} BLUR=${BLUR-false} GRAY_P=${GRAY_P-0.1}
for a in "$@"; do
	if [[ $a == -h || $a == --help ]]; then
		printf '%s\n\n' "pipelines/fast.sh: the fast recipe, run by pipelines/simclr-cifar10.sh with the
settings marked 'here' below: pretraining fills BUDGET (3 hours) with as many
epochs as fit on this machine. 18 epochs of it took 1 h 41 min on AMD EPYC
Zen 4 (bf16, 298 views/s): 64.44% linear eval (README, Results); a 3-hour
budget there is about 31 epochs. On a CPU without AVX-512 the cifar-pool
stem is about 5 times the ImageNet stem's time: STEM=imagenet fits more
epochs there (25 of them gave 59.42% in 2 h 8 min on Zen 1, fp32). Set
BUDGET empty to run EPOCHS instead."
		break
	fi
done
exec "$root/pipelines/simclr-cifar10.sh" "$@"
