#!/usr/bin/env bash
# SimCLR on CIFAR-10, end to end. For now the pipeline fetches the data:
# it builds the tools into bin/ and writes the image tables into the run
# directory; later stages (augment, pretrain, extract, linprobe) extend it.
#
# Usage: pipelines/simclr-cifar10.sh [--archive PATH] [--run-dir DIR]
#   --archive PATH  read this local cifar-10-binary.tar.gz instead of
#                   downloading (or set CIFAR10_ARCHIVE=PATH)
#   --run-dir DIR   write outputs here (or set RUN_DIR=DIR);
#                   default: runs/simclr-cifar10 in the repository
#
# Outputs: DIR/data/train.arrow, DIR/data/test.arrow. Finished outputs are
# kept, so running it again skips work already done.
set -euo pipefail

usage() { sed -n '6,10s/^# \{0,1\}//p' "$0"; }
die() { echo "simclr-cifar10: $*" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archive=${CIFAR10_ARCHIVE:-}
run_dir=${RUN_DIR:-$root/runs/simclr-cifar10}
while (($#)); do
	case $1 in
	--archive) (($# > 1)) || die "--archive needs a path"; archive=$2; shift 2 ;;
	--archive=*) archive=${1#*=}; shift ;;
	--run-dir) (($# > 1)) || die "--run-dir needs a directory"; run_dir=$2; shift 2 ;;
	--run-dir=*) run_dir=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

# Paths the user gave are relative to where they stand; the stages run
# from the repository root.
absolute() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
run_dir=$(absolute "$run_dir")
fetch_args=(--out-dir "$run_dir/data")
if [[ -n $archive ]]; then
	fetch_args+=(--archive "$(absolute "$archive")")
fi
cd "$root"

stage() { printf '== %s\n' "$*" >&2; }

stage "build tools into bin/"
go build -o bin/ ./cmd/cifar-fetch

stage "fetch CIFAR-10 into $run_dir/data"
bin/cifar-fetch "${fetch_args[@]}"

stage "done: $run_dir"
