#!/bin/bash
# An EXAMPLE, not run here (this workplace has no Slurm): sharded feature
# extraction as a Slurm job array, one task per shard. See deploy/README.md.
#
#   sbatch deploy/slurm-extract-array.sh                          # train, 16 shards
#   SPLIT=test sbatch --array=0-3 deploy/slurm-extract-array.sh   # test, 4 shards
#
# The array's range is the shard count: --array=0-(N-1), no step. Task I
# runs extract --shard I/N. The paths are placeholders on a file system
# that every node sees; run from the repository, with the tools built in
# bin/ (go build -o bin/ ./cmd/...).
#
# Then, once every task has succeeded, probe on all the shards (the
# zero-padded names sort in shard order, which linprobe requires):
#
#   jid=$(sbatch --parsable deploy/slurm-extract-array.sh)
#   tid=$(SPLIT=test sbatch --parsable --array=0-3 deploy/slurm-extract-array.sh)
#   sbatch --dependency=afterok:$jid:$tid --wrap 'bin/linprobe \
#     --train "$(ls runs/sharded/features/train-*.arrow | paste -sd, -)" \
#     --test "$(ls runs/sharded/features/test-*.arrow | paste -sd, -)" --knn 200 --report runs/sharded/linprobe.json'
#
#SBATCH --job-name=simclr-extract
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=extract-%A_%a.log
set -euo pipefail

split=${SPLIT:-train}
data=${DATA:-data}
checkpoint=${CHECKPOINT:-runs/simclr-cifar10/pretrain/simclr_epoch100.safetensors}
out=${OUT:-runs/sharded/features}

# N from the array itself, so that --array on the command line changes both.
if [ "$SLURM_ARRAY_TASK_MIN" != 0 ] || [ "$SLURM_ARRAY_TASK_COUNT" != $((SLURM_ARRAY_TASK_MAX + 1)) ]; then
	echo "slurm-extract-array.sh: want --array=0-(N-1), got $SLURM_ARRAY_TASK_MIN-$SLURM_ARRAY_TASK_MAX in $SLURM_ARRAY_TASK_COUNT tasks" >&2
	exit 1
fi
n=$((SLURM_ARRAY_TASK_MAX + 1))
i=$SLURM_ARRAY_TASK_ID

mkdir -p "$out"
bin/extract --checkpoint "$checkpoint" --shard "$i/$n" --threads "$SLURM_CPUS_PER_TASK" \
	"$data/$split.arrow" -o "$(printf '%s/%s-%04d-of-%04d.arrow' "$out" "$split" "$i" "$n")"
