#!/usr/bin/env bash
# bench/compare.sh OUT_DIR [ROUNDS]
#
# Times our SimCLR step, extraction and GEMM against PyTorch on the same
# work (../shared/peer, run with Debian's /usr/bin/python3), alternating
# the two ROUNDS times (default 2) so that both see the same minutes of
# this noisy machine, and once against our portable backend (-tags
# purego: what a CPU without the assembly's instruction sets gets). The
# raw outputs go to OUT_DIR; nothing else may run meanwhile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/compare.sh OUT_DIR [ROUNDS]}
rounds=${2:-2}
peer=../shared/peer
py=/usr/bin/python3
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

{ grep -m1 'model name' /proc/cpuinfo; grep -m1 'cpu family' /proc/cpuinfo; grep -m1 '^model' /proc/cpuinfo
  grep -o -w 'avx2\|fma\|avx512f\|avx512_bf16\|amx_tile' /proc/cpuinfo | sort | uniq -c; nproc; date -u; git rev-parse HEAD; } >"$out/machine.txt"
go test -c -o "$bin/model" ./pkg/model
go test -c -o "$bin/kern" ./pkg/kern
go test -c -tags purego -o "$bin/model.purego" ./pkg/model
go test -c -tags purego -o "$bin/kern.purego" ./pkg/kern

bench() { # FILE BINARY PATTERN BENCHTIME
	echo "== $(date -u +%T) $2 $3" >>"$out/$1"
	"$bin/$2" -test.run '^$' -test.bench "$3" -test.benchtime "$4" -test.benchmem >>"$out/$1" 2>&1
}
peer() { # FILE SCRIPT ARGS...
	local f=$1
	shift
	echo "== $(date -u +%T) $*" >>"$out/$f"
	"$py" "$peer/$@" 2>&1 | grep RESULT >>"$out/$f"
}

for r in $(seq "$rounds"); do
	echo "round $r of $rounds" >&2
	bench ours.txt kern 'Sgemm$/square1024' 5x
	bench ours.txt model 'SimCLRStep/imagenet$' 5x
	peer torch.txt simclr_step.py --stem imagenet --cl
	bench ours.txt model 'Extract/imagenet$' 10x
	peer torch.txt extract.py --stem imagenet --cl
	bench ours.txt model 'SimCLRStep/cifar$' 2x
	peer torch.txt simclr_step.py --stem cifar --cl --steps 2
	bench ours.txt model 'Extract/cifar$' 3x
	peer torch.txt extract.py --stem cifar --cl
done
echo "portable backend" >&2
bench purego.txt kern.purego 'Sgemm$/square1024' 1x
bench purego.txt model.purego 'Extract/imagenet$' 1x
bench purego.txt model.purego 'SimCLRStep/imagenet$' 1x
# bf16 here: the precision --precision bf16 would run.
bench ours.txt kern 'SgemmBF16$/square1024' 1x
