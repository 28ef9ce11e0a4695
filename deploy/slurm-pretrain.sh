#!/bin/bash
# An EXAMPLE, not run here (this workplace has no Slurm and no MPI):
# data-parallel pretraining in 2 MPI tasks on 2 nodes. See deploy/README.md.
#
#   sbatch deploy/slurm-pretrain.sh
#
# NOTE: "--dist mpi" is pretrain's distributed mode (README: Distributed
# pretraining). pretrain must be built with the mpi build tag against the
# cluster's MPI:
#
#   go build -tags mpi -o bin/ ./cmd/pretrain
#
# srun starts the 2 ranks where the Slurm MPI plugin (here PMIx) is set up;
# elsewhere, mpirun -np 2 in place of srun --mpi=pmix does the same inside
# the allocation. The paths are placeholders on a file system that every
# node sees.
#
#SBATCH --job-name=simclr-pretrain
#SBATCH --nodes=2
#SBATCH --ntasks=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=6G
#SBATCH --time=24:00:00
#SBATCH --output=pretrain-%j.log
set -euo pipefail

data=${DATA:-data}
out=${OUT:-runs/simclr-cifar10-mpi/pretrain}

# --threads follows --cpus-per-task: one core per rank here.
srun --mpi=pmix bin/pretrain --dist mpi --threads "$SLURM_CPUS_PER_TASK" "$data/train.arrow" \
	--out-dir "$out" --epochs 100 --batch 256 --save-every 10
