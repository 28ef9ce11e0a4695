#!/usr/bin/env bash
# The pipelines refuse bad numeric settings before building or fetching
# anything: each case must fail with its message. CI runs it; it takes a
# second.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail=0
check() { # check SCRIPT VAR=VALUE MESSAGE
	local out
	out=$(env "$2" "pipelines/$1" --run-dir "${TMPDIR:-/tmp}/pipeline-settings-never-made" 2>&1)
	if [[ $? -eq 0 || $out != *"$3"* ]]; then
		echo "FAIL: $2 pipelines/$1: want an error containing '$3', got: $out" >&2
		fail=1
	fi
}
for script in simclr-cifar10.sh baselines.sh; do
	check "$script" SAVE_EVERY=0 "SAVE_EVERY=0: want at least 1"
	check "$script" EPOCHS=0 "EPOCHS=0: want at least 1"
	check "$script" BATCH=1 "BATCH=1: want at least 2"
	check "$script" PROBE_EPOCHS=0 "PROBE_EPOCHS=0: want at least 1"
	check "$script" MAX_STEPS=-1 "MAX_STEPS=-1: want a whole number"
	check "$script" EPOCHS=99999999999 "want a whole number (at most 9 digits)"
	check "$script" BF16=1 "BF16 is now PRECISION"
	check "$script" PRECISION=fp16 "PRECISION=fp16: want auto, fp32 or bf16"
	check "$script" WARMUP_EPOCHS=200 "WARMUP_EPOCHS=200: want at most EPOCHS (100)"
	check "$script" LR=0 "LR=0: want a positive number"
	check "$script" LR=-3e-4 "want a positive number"
	check "$script" LR=fast "LR=fast: want a positive number"
done
check simclr-cifar10.sh TAU=0 "TAU=0: want a positive number"
check simclr-cifar10.sh BUDGET=3 "BUDGET=3: want a duration such as 3h"
check simclr-cifar10.sh BUDGET=0h "BUDGET=0h: want a duration"
check fast.sh BUDGET=soon "BUDGET=soon: want a duration"
if [[ -e ${TMPDIR:-/tmp}/pipeline-settings-never-made ]]; then
	echo "FAIL: a refused run made its run directory" >&2
	fail=1
fi
((fail == 0)) && echo "pipeline settings: ok"
exit $fail
