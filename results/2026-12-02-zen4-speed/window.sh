#!/usr/bin/env bash
# Ours against PyTorch (../shared/peer) on the same work, alternated, on a
# quiet machine: go test -c -o /work/model-new.test ./pkg/model first.
# Run from the repository root; writes ours.txt and torch.txt here.
set -euo pipefail
here=results/2026-12-02-zen4-speed
peer=../shared/peer
for round in 1 2 3; do
	/work/model-new.test -test.run XXX -test.bench 'SimCLRStep/imagenet(-bf16)?$' -test.benchtime 8x | grep Benchmark | sed "s/^/round $round /" >>"$here/ours.txt"
	for dt in bf16 fp32; do
		(cd $peer && /usr/bin/python3 simclr_step.py --stem imagenet --dtype $dt --cl --steps 4) | grep RESULT | sed "s/^/round $round /" >>"$here/torch.txt"
	done
	/work/model-new.test -test.run XXX -test.bench 'Extract/imagenet(-bf16)?$' -test.benchtime 8x | grep Benchmark | sed "s/^/round $round /" >>"$here/ours.txt"
	(cd $peer && /usr/bin/python3 extract.py --stem imagenet --dtype bf16 --cl) | grep RESULT | sed "s/^/round $round /" >>"$here/torch.txt"
done
