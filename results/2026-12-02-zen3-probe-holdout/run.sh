#!/usr/bin/env bash
# The probe's settings chosen on a validation set carved out of the
# training features (linprobe --holdout 5000), never on the test labels.
set -euo pipefail
cd /work/main
F=runs/zen3-e10/features
out=results/2026-12-02-zen3-probe-holdout
for args in "--lr 0.1" "--lr 0.03" "--lr 0.3" "--lr 1" "--lr 0.1 --no-standardize" "--lr 0.1 --batch-size 1024" "--lr 0.1 --epochs 30"; do
	name=$(echo "$args" | tr -d ' -' )
	bin/linprobe --train $F/train.arrow --holdout 5000 --threads 1 $args --report $out/$name.json > $out/$name.txt
	printf '%s\t%s\n' "$args" "$(grep -m1 'valid top-1' $out/$name.txt)"
done | tee $out/summary.tsv
