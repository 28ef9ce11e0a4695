#!/usr/bin/env bash
# pretrain --max-steps 50 on the real training table with each --precision,
# alternated, 2 rounds, on a quiet machine: go build -o /work/rrbin/ ./cmd/pretrain
# first. Run from the repository root (data/train.arrow from the pipeline).
set -euo pipefail
here=results/2026-12-02-zen4-speed
for round in 1 2; do
	for p in auto fp32 bf16; do
		rm -rf /tmp/rr-$p
		/work/rrbin/pretrain data/train.arrow --epochs 10 --warmup-epochs 1 --max-steps 50 --precision $p --out-dir /tmp/rr-$p 2>"$here/realrun-$p-$round.txt"
		cp /tmp/rr-$p/log.jsonl "$here/realrun-$p-$round.log.jsonl"
		# the progress bar's rate at steps 20-50: median, min, max
		python3 -c "
import json,statistics as st
r=[json.loads(l)['views_per_s'] for l in open('/tmp/rr-$p/log.jsonl') if '\"step\"' in l][19:]
print('$p round $round: steps 20-50 views/s median %.0f (%.0f-%.0f)' % (st.median(r), min(r), max(r)))" | tee -a "$here/realrun.txt"
	done
done
