# shellcheck shell=bash
# Shared by the pipelines (sourced, not run): settings from flags and
# environment variables, stage bookkeeping, and one function per stage.
#
# A pipeline sets PIPELINE (its name) and HELP (its usage text), declares
# its settings with `setting` (or `tool_setting`, for those whose default
# is a tool's), calls `parse_args "$@"`, then `setup`, then
# its stages. Each stage keeps a manifest entry in RUN_DIR/manifest/: the
# settings it ran with (KEY.settings) and its wall time (KEY.seconds). A
# stage is skipped when its manifest entry holds the current settings and
# its outputs are newer than its inputs; --from STAGE reruns STAGE and every
# stage after it.

export LC_ALL=C # decimal points in times, byte order in sort

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STAGES=(fetch pretrain extract probe)
FROM=
SETTINGS=()

say() { printf '== %s\n' "$*" >&2; }
die() {
	printf '%s: %s\n' "$PIPELINE" "$*" >&2
	exit 2
}
# On Ctrl-C (which pretrain answers by saving a checkpoint and exiting),
# record the time of the stage that was running, then stop.
on_signal() {
	stop_clock
	printf '%s: interrupted\n' "$PIPELINE" >&2
	exit 130
}
trap on_signal INT TERM

# absolute PATH prints PATH made absolute against the current directory.
absolute() { case $1 in /* | '') printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac }

# setting NAME DEFAULT HELP declares a setting: the environment variable
# NAME, or the flag --name (lower case, - for _), else DEFAULT.
setting() {
	SETTINGS+=("$1")
	printf -v "$1" '%s' "${!1-$2}"
	printf -v "HELP_$1" '%s' "$3"
	printf -v "DEFAULT_$1" '%s' "$2"
}

# tool_setting TOOL[:KEY] NAME HELP declares a setting whose default is
# the tool's own: line KEY (NAME if not given) of `TOOL --print-defaults`,
# which names a flag's default as the pipelines name settings (--warmup-epochs
# is WARMUP_EPOCHS). The tool runs from the source (go run), so that the
# defaults are known before the tools are built, for --help too.
declare -A TOOL_DEFAULTS=() # "TOOL KEY" -> value
declare -A TOOL_KEYS=()     # "TOOL" -> its keys, in its order
tool_setting() {
	local tool=${1%%:*} key=${1#*:}
	[[ $1 == *:* ]] || key=$2
	tool_defaults "$tool"
	[[ -v TOOL_DEFAULTS["$tool $key"] ]] || die "$tool --print-defaults has no $key"
	setting "$2" "${TOOL_DEFAULTS["$tool $key"]}" "$3"
}

# tool_defaults TOOL reads `TOOL --print-defaults` into TOOL_DEFAULTS and
# TOOL_KEYS, once.
tool_defaults() {
	local tool=$1 out line k
	[[ -v TOOL_KEYS[$tool] ]] && return
	out=$(cd "$ROOT" && go run "./cmd/$tool" --print-defaults) || die "cannot read $tool's defaults (go run ./cmd/$tool --print-defaults)"
	TOOL_KEYS[$tool]=
	while IFS= read -r line; do
		[[ $line =~ ^[A-Z0-9_]+= ]] || die "$tool --print-defaults: not NAME=value: $line"
		k=${line%%=*}
		eval "TOOL_DEFAULTS[\"\$tool \$k\"]=${line#*=}" # the value is a shell word
		TOOL_KEYS[$tool]+=" $k"
	done <<<"$out"
}

# recipe_settings declares, as settings, every pretraining default that
# the pipeline has not declared and that is no file name or monitor
# setting: the optimizer, the head's widths and the augmentation
# (OPTIMIZER, WEIGHT_DECAY, CROP_SCALE_MIN, BLUR, ...), so that a new
# pretrain flag is a pipeline setting too. RECIPE lists them; AUGMENT_RECIPE
# those that augment also takes (its preview shows the recipe's views).
RECIPE=() AUGMENT_RECIPE=()
recipe_settings() {
	local k flag
	tool_defaults pretrain
	tool_defaults augment
	for k in ${TOOL_KEYS[pretrain]}; do
		[[ " ${SETTINGS[*]} " == *" $k "* || $k == OUT_DIR || $k == OBJECTIVE || $k == MONITOR_* ]] && continue
		flag=${k,,}
		setting "$k" "${TOOL_DEFAULTS["pretrain $k"]}" "pretraining recipe: pretrain --${flag//_/-}"
		RECIPE+=("$k")
		[[ -v TOOL_DEFAULTS["augment $k"] ]] && AUGMENT_RECIPE+=("$k")
	done
	return 0
}

# recipe_args NAME... prints the flags that give settings NAME... their
# values, one per line (--crop-scale-min=0.2, --blur=false).
recipe_args() {
	local k flag
	for k in "$@"; do
		flag=${k,,}
		printf -- '--%s=%s\n' "${flag//_/-}" "${!k}"
	done
}

# recipe_changes NAME... prints " name=value" for each setting NAME that
# is not pretrain's default: what a stage's manifest records of the
# recipe, so that the manifests of runs by the defaults stay as they were.
recipe_changes() {
	local k
	for k in "$@"; do
		[[ ${!k} == "${TOOL_DEFAULTS["pretrain $k"]}" ]] || printf ' %s=%s' "${k,,}" "${!k}"
	done
}

usage() {
	# shellcheck disable=SC2153 # HELP is the pipeline's
	printf '%s\n\nSettings: a flag, or the environment variable beside it.\n\n' "$HELP"
	local name help default flag
	for name in "${SETTINGS[@]}"; do
		help=HELP_$name default=DEFAULT_$name flag=${name,,}
		printf '  --%-18s %-16s %s (default: %s' "${flag//_/-}" "$name" "${!help}" "${!default:-none}"
		# A value from the environment (as pipelines/fast.sh sets its recipe's) is shown too.
		[[ ${!name} == "${!default}" ]] || printf '; here: %s' "${!name:-none}"
		printf ')\n'
	done
	printf '  --%-35s %s\n' "from STAGE" "rerun STAGE and every stage after it: ${STAGES[*]}" \
		"help" "print this help"
}

# parse_args ARGS... sets the declared settings from --flag VALUE or
# --flag=VALUE, and FROM from --from.
parse_args() {
	local name value
	while (($#)); do
		case $1 in
		-h | --help) usage; exit 0 ;;
		--*=*) name=${1%%=*} value=${1#*=}; shift ;;
		--*) (($# > 1)) || die "$1 needs a value (see --help)"; name=$1 value=$2; shift 2 ;;
		*) die "unknown argument: $1 (see --help)" ;;
		esac
		case $name in
		--from) FROM=$value; stage_index "$FROM" >/dev/null || die "--from $FROM: not a stage (${STAGES[*]})" ;;
		--archive) CIFAR10_ARCHIVE=$value ;;
		*)
			local var=${name#--}
			var=${var^^} var=${var//-/_}
			[[ " ${SETTINGS[*]} " == *" $var "* ]] || die "unknown flag: $name (see --help)"
			printf -v "$var" '%s' "$value"
			;;
		esac
	done
}

stage_index() {
	local i
	for i in "${!STAGES[@]}"; do
		[[ ${STAGES[i]} == "$1" ]] && { echo "$i"; return 0; }
	done
	return 1
}

# forced STAGE is true when --from asks to rerun STAGE.
forced() { [[ -n $FROM ]] && (($(stage_index "$1") >= $(stage_index "$FROM"))); }

# The settings every pipeline has.
common_settings() {
	setting RUN_DIR "$ROOT/runs/$1" "directory for everything the run makes"
	local shared
	shared=$(cd "$ROOT/.." && pwd)/shared/cifar10/cifar-10-binary.tar.gz
	[[ -f $shared ]] || shared=
	setting CIFAR10_ARCHIVE "$shared" "local cifar-10-binary.tar.gz, also --archive; empty: download the official archive"
	setting DATA_DIR "$ROOT/data" "where the image tables are fetched, shared by runs (linked into RUN_DIR/data)"
	setting BIN_DIR "$ROOT/bin" "where the tools are built"
	setting THREADS 0 "cores the tools use (0: all)"
	setting PRECISION auto "what the convolutions multiply in: auto (bf16 where this CPU runs it faster), fp32 or bf16 (pretrain and extract --precision)"
	setting MONITOR test "kNN monitor of pretraining (pretrain --monitor): test (the test table), off, or an image table"
	setting MONITOR_EVERY 1 "epochs between the kNN monitor's evaluations (and after the last)"
	setting MONITOR_LIMIT 2000 "images of the monitor's table it scores (0: all)"
}

# setup checks the settings, makes the paths absolute, builds the tools and
# makes the run directory.
setup() {
	local n
	for n in EPOCHS BATCH WARMUP_EPOCHS SEED LIMIT MAX_STEPS SAVE_EVERY EVAL_LIMIT KNN PROBE_EPOCHS THREADS MONITOR_EVERY MONITOR_LIMIT; do
		[[ -v $n ]] || continue
		[[ ${!n} =~ ^[0-9]{1,9}$ ]] || die "$n=${!n}: want a whole number (at most 9 digits)"
		printf -v "$n" '%d' "$((10#${!n}))" # 010 is ten, not octal eight
	done
	# The tools check their flags too; these fail before the build and the
	# fetch.
	at_least() { [[ ! -v $1 ]] || ((${!1} >= $2)) || die "$1=${!1}: want at least $2"; }
	at_least EPOCHS 1
	at_least BATCH 2
	at_least SAVE_EVERY 1
	at_least PROBE_EPOCHS 1
	if budgeted; then
		(($(seconds "$BUDGET" || echo 0) > 0)) || die "BUDGET=$BUDGET: want a duration such as 3h, 90m, 1h30m or 600s"
	elif [[ -v WARMUP_EPOCHS && -v EPOCHS ]] && ((WARMUP_EPOCHS > EPOCHS)); then
		die "WARMUP_EPOCHS=$WARMUP_EPOCHS: want at most EPOCHS ($EPOCHS)"
	fi
	for n in LR TAU; do
		[[ -v $n && -n ${!n} ]] || continue
		[[ ${!n} =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ && ! ${!n} =~ ^[0.]+([eE].*)?$ ]] ||
			die "$n=${!n}: want a positive number"
	done
	[[ -v BF16 ]] && die "BF16 is now PRECISION (auto, fp32 or bf16): BF16=1 is PRECISION=bf16"
	[[ $PRECISION =~ ^(auto|fp32|bf16)$ ]] || die "PRECISION=$PRECISION: want auto, fp32 or bf16"
	RUN_DIR=$(absolute "$RUN_DIR") DATA_DIR=$(absolute "$DATA_DIR") BIN_DIR=$(absolute "$BIN_DIR")
	CIFAR10_ARCHIVE=$(absolute "$CIFAR10_ARCHIVE")
	[[ $MONITOR == test || $MONITOR == off || -z $MONITOR ]] || MONITOR=$(absolute "$MONITOR")
	MANIFEST=$RUN_DIR/manifest
	cd "$ROOT" || exit
	say "build the tools into $BIN_DIR"
	go build -o "$BIN_DIR/" ./cmd/...
	mkdir -p "$RUN_DIR" "$MANIFEST"
}

# fresh KEY SETTINGS OUTPUT... -- INPUT... is true when stage KEY last ran
# with SETTINGS and every OUTPUT exists and is newer than every INPUT.
fresh() {
	local key=$1 want=$2 outs=() o i
	shift 2
	while (($#)) && [[ $1 != -- ]]; do outs+=("$1"); shift; done
	shift
	[[ -f $MANIFEST/$key.settings && $(<"$MANIFEST/$key.settings") == "$want" ]] || return 1
	for o in "${outs[@]}"; do
		[[ -e $o ]] || return 1
		for i in "$@"; do [[ $o -nt $i ]] || return 1; done
	done
}

# done_with KEY SETTINGS records that stage KEY ran with SETTINGS.
done_with() { printf '%s\n' "$2" >"$MANIFEST/$1.settings"; }

# timed KEY CMD... runs CMD and records its wall time as stage KEY's;
# timed --add adds it to the time recorded before (a resumed run). The
# time is recorded however CMD ends, so CMD must return its failure: a
# shell function run so has no set -e.
CLOCK=()
timed() {
	local before=0
	if [[ $1 == --add ]]; then
		shift
		[[ -f $MANIFEST/$1.seconds ]] && before=$(<"$MANIFEST/$1.seconds")
	fi
	CLOCK=("$1" "$EPOCHREALTIME" "$before")
	shift
	local rc=0
	"$@" || rc=$?
	stop_clock
	return "$rc"
}

stop_clock() {
	((${#CLOCK[@]})) || return 0
	awk -v s="${CLOCK[1]}" -v b="${CLOCK[2]}" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b + e - s }' >"$MANIFEST/${CLOCK[0]}.seconds"
	CLOCK=()
}

# ---- stages -------------------------------------------------------------

# stage_fetch writes the image tables into DATA_DIR (unless they are there)
# and links them into RUN_DIR/data.
stage_fetch() {
	TRAIN=$RUN_DIR/data/train.arrow TEST=$RUN_DIR/data/test.arrow
	if ! forced fetch && [[ -s $DATA_DIR/train.arrow && -s $DATA_DIR/test.arrow ]]; then
		say "fetch: $DATA_DIR has train.arrow and test.arrow, skipped"
	else
		local args=(--out-dir "$DATA_DIR")
		forced fetch && args+=(--force)
		if [[ -n $CIFAR10_ARCHIVE ]]; then
			[[ -f $CIFAR10_ARCHIVE ]] || die "CIFAR10_ARCHIVE=$CIFAR10_ARCHIVE: no such file"
			args+=(--archive "$CIFAR10_ARCHIVE")
			say "fetch: CIFAR-10 from $CIFAR10_ARCHIVE into $DATA_DIR"
		else
			say "fetch: CIFAR-10 from the official site into $DATA_DIR"
		fi
		timed fetch "$BIN_DIR/cifar-fetch" "${args[@]}"
	fi
	if [[ $DATA_DIR != "$RUN_DIR/data" ]]; then
		mkdir -p "$RUN_DIR/data"
		ln -sfn "$DATA_DIR/train.arrow" "$TRAIN"
		ln -sfn "$DATA_DIR/test.arrow" "$TEST"
	fi
}

# stage_preview OUT draws augment's grid of augmented training views.
stage_preview() {
	local out=$1 want="seed=$SEED" aug
	mapfile -t aug < <(recipe_args "${AUGMENT_RECIPE[@]}")
	want+=$(recipe_changes "${AUGMENT_RECIPE[@]}")
	if ! forced pretrain && fresh preview "$want" "$out" -- "$TRAIN"; then
		say "preview: $out is up to date, skipped"
		return
	fi
	say "preview: augmented views -> $out"
	timed preview "$BIN_DIR/augment" "$TRAIN" --seed "$SEED" --preview "$out" "${aug[@]}"
	done_with preview "$want"
}

# newest_checkpoint DIR OBJECTIVE prints the path of the latest checkpoint
# in DIR, if any: OBJECTIVE_epochNNN[_stepSSSSS].safetensors names sort in
# training order ("." before "_").
newest_checkpoint() {
	local f
	f=$(find "$1" -maxdepth 1 -name "$2_epoch*.safetensors" 2>/dev/null | sort | tail -n 1)
	printf '%s' "$f"
}

# precision_setting is PRECISION as stages record it: nothing for auto, so
# that manifests written before the setting existed still match.
precision_setting() {
	[[ $PRECISION == auto ]] || printf ' precision=%s' "$PRECISION"
}

# pretrain_settings OBJECTIVE prints what a pretraining stage's manifest
# records of its run.
pretrain_settings() {
	printf 'objective=%s epochs=%s batch=%s lr=%s warmup_epochs=%s tau=%s stem=%s seed=%s limit=%s' \
		"$1" "$EPOCHS" "$BATCH" "$LR" "$WARMUP_EPOCHS" "${TAU-}" "$STEM" "$SEED" "$LIMIT"
	precision_setting
	recipe_changes "${RECIPE[@]}"
	! budgeted || printf ' budget=%s' "$BUDGET"
}

# pretrain_args DIR OBJECTIVE EPOCHS MAX_STEPS sets args to pretrain's
# command line for a run of the settings into DIR, with the kNN monitor.
pretrain_args() {
	args=("$TRAIN" --out-dir "$1" --objective "$2" --epochs "$3" --batch "$BATCH"
		--lr "$LR" --warmup-epochs "$WARMUP_EPOCHS" ${TAU:+--tau "$TAU"} --stem "$STEM" --seed "$SEED"
		--limit "$LIMIT" --save-every "$SAVE_EVERY" --max-steps "$4" --threads "$THREADS")
	args+=(--precision "$PRECISION")
	mapfile -t -O "${#args[@]}" args < <(recipe_args "${RECIPE[@]}")
	monitor_args
}

# Steps of the trial that times a BUDGET; the first BUDGET_SKIP are not
# counted (the first steps allocate and warm the caches).
BUDGET_STEPS=20 BUDGET_SKIP=5

# budgeted is true when the pipeline has a BUDGET setting and it is set.
budgeted() { [[ -v HELP_BUDGET && -n $BUDGET ]]; }

# seconds DURATION prints DURATION (3h, 90m, 1h30m, 45s) in seconds.
seconds() {
	[[ $1 =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n $1 ]] || return 1
	local h=${BASH_REMATCH[1]%h} m=${BASH_REMATCH[2]%m} s=${BASH_REMATCH[3]%s}
	printf '%d\n' "$((10#${h:-0} * 3600 + 10#${m:-0} * 60 + 10#${s:-0}))"
}

# budget_epochs KEY DIR OBJECTIVE sets EPOCHS to the most epochs whose
# pretraining fits in BUDGET on this machine: the run's own, when DIR holds
# one begun under this BUDGET and these settings (so that it resumes or is
# skipped); else from a trial of BUDGET_STEPS steps of the same settings
# (in DIR/trial, then removed), whose step time after the first BUDGET_SKIP
# and whose kNN monitor's evaluation time give an epoch's. 3% is left
# for the machine's drift.
budget_epochs() {
	local key=$1 dir=$2 objective=$3 budget stored args
	budget=$(seconds "$BUDGET")
	[[ $EPOCHS == "$DEFAULT_EPOCHS" ]] || say "$key: BUDGET=$BUDGET chooses the epochs: EPOCHS=$EPOCHS is ignored (BUDGET= runs it)"
	# A run in DIR keeps its epochs; stage_pretrain refuses it if it ran
	# under other settings, so no trial is wasted on it.
	if ! forced pretrain && [[ -f $MANIFEST/$key.settings && -n $(newest_checkpoint "$dir" "$objective") ]]; then
		stored=$(<"$MANIFEST/$key.settings")
		if [[ $stored =~ \ epochs=([0-9]+)\  ]]; then
			EPOCHS=${BASH_REMATCH[1]}
			[[ $(pretrain_settings "$objective") != "$stored" ]] ||
				say "$key: BUDGET=$BUDGET: $EPOCHS epochs, as chosen when the run in $dir began"
			return
		fi
	fi
	local trial=$dir/trial
	rm -rf "$trial"
	# Epochs enough that the trial's steps are all before the end.
	pretrain_args "$trial" "$objective" "$((WARMUP_EPOCHS + 1000))" "$BUDGET_STEPS"
	say "$key: BUDGET=$BUDGET: timing $BUDGET_STEPS steps of these settings (in $trial)"
	"$BIN_DIR/pretrain" "${args[@]}" 2>"$trial.stderr" || {
		cat "$trial.stderr" >&2
		die "the trial of BUDGET=$BUDGET failed"
	}
	local fit
	fit=$(awk -v budget="$budget" -v skip="$BUDGET_SKIP" -v every="$MONITOR_EVERY" '
		# num(KEY) is the number in field KEY of the line.
		function num(key) {
			return match($0, "\"" key "\":[-0-9.e+]+") ? substr($0, RSTART + length(key) + 3) + 0 : 0
		}
		FILENAME == ARGV[1] { if (match($0, /[0-9]+ steps of [0-9]+ views per epoch/)) { split(substr($0, RSTART), w, " "); spe = w[1]; views = w[4] }; next }
		/"knn_seconds"/ && /"epoch":0,/ { knn = num("knn_seconds") }
		/"global_step"/ {
			last = num("global_step")
			# views_per_s is the mean since the start: the seconds to step last.
			if (num("views_per_s") > 0) t[last] = last * views / num("views_per_s")
		}
		END {
			if (!spe || last <= skip || !(skip in t) || !(last in t)) exit 1
			step = (t[last] - t[skip]) / (last - skip)
			epoch = spe * step + knn / every
			printf "%d %.1f %.0f %.1f\n", 0.97 * budget / epoch, epoch, views / step, knn
		}' "$trial.stderr" "$trial/log.jsonl") || die "the trial of BUDGET=$BUDGET left no step times in $trial/log.jsonl"
	rm -rf "$trial" "$trial.stderr"
	local secs rate knn
	read -r EPOCHS secs rate knn <<<"$fit"
	((EPOCHS > WARMUP_EPOCHS)) || die "BUDGET=$BUDGET fits $EPOCHS epochs of $secs s ($rate views/s) on this machine, not more than the WARMUP_EPOCHS=$WARMUP_EPOCHS: raise BUDGET or lower WARMUP_EPOCHS"
	say "$key: BUDGET=$BUDGET: $EPOCHS epochs of $secs s ($rate views/s over steps $((BUDGET_SKIP + 1))-$BUDGET_STEPS of the trial, kNN monitor $knn s an evaluation), about $(awk -v e="$EPOCHS" -v s="$secs" 'BEGIN { printf "%.0f", e * s / 60 }') min"
}

# stage_pretrain KEY DIR OBJECTIVE trains into DIR: skipped when the final
# checkpoint is newer than the data and the settings are the same, resumed
# from the newest checkpoint when the run stopped before its end, started
# over under --from pretrain. CHECKPOINT is set to the checkpoint to
# evaluate (the newest). With BUDGET, EPOCHS is chosen first
# (budget_epochs).
stage_pretrain() {
	local key=$1 dir=$2 objective=$3
	mkdir -p "$dir"
	! budgeted || budget_epochs "$key" "$dir" "$objective"
	local want final
	want=$(pretrain_settings "$objective")
	final=$dir/$(printf '%s_epoch%03d.safetensors' "$objective" "$EPOCHS")
	if forced pretrain; then
		local old
		old=$(find "$dir" -maxdepth 1 -name '*.safetensors' | wc -l)
		say "$key: --from $FROM: starting over (removing $old checkpoints, the log and the loss curve in $dir)"
		rm -f "$dir"/*.safetensors "$dir/log.jsonl" "$dir/loss.png" "$MANIFEST/$key.seconds" "$MANIFEST/$key.settings"
	fi
	CHECKPOINT=$final
	if fresh "$key" "$want" "$final" -- "$TRAIN"; then
		say "$key: complete ($final), skipped"
		return
	fi
	local newest
	newest=$(newest_checkpoint "$dir" "$objective")
	if [[ -n $newest ]]; then
		if [[ ! -f $MANIFEST/$key.settings || $(<"$MANIFEST/$key.settings") != "$want" ]]; then
			die "$dir holds a run with other settings ($(cat "$MANIFEST/$key.settings" 2>/dev/null || echo unknown); now: $want): rerun with --from pretrain to start over, or choose another RUN_DIR"
		fi
		if [[ -e $final ]]; then # complete, but the data is newer
			say "$key: the data is newer than $final: starting over"
			rm -f "$dir"/*.safetensors "$dir/log.jsonl" "$dir/loss.png" "$MANIFEST/$key.seconds"
			newest=
		fi
	else
		rm -f "$dir/log.jsonl" "$MANIFEST/$key.seconds"
	fi
	done_with "$key" "$want"
	local args
	pretrain_args "$dir" "$objective" "$EPOCHS" "$MAX_STEPS"
	if [[ -n $newest ]]; then
		say "$key: resuming from $newest"
		args+=(--resume "$newest")
	else
		say "$key: $objective, $EPOCHS epochs of batch $BATCH -> $dir"
	fi
	timed --add "$key" "$BIN_DIR/pretrain" "${args[@]}"
	CHECKPOINT=$(newest_checkpoint "$dir" "$objective")
	if [[ ! -e $final ]]; then
		say "$key: stopped before the end (--max-steps $MAX_STEPS); the next run resumes from $CHECKPOINT, evaluated meanwhile"
	fi
}

# monitor_args adds pretrain's kNN monitor to args, unless MONITOR is off
# or the training images are fewer than its 200 neighbours. It is no
# pretraining setting (it does not change the training): changing it
# neither reruns nor refuses a run.
monitor_args() {
	[[ -n $MONITOR && $MONITOR != off ]] || return 0
	if ((LIMIT > 0 && LIMIT < 200)); then
		say "pretrain: no kNN monitor: LIMIT=$LIMIT training images are fewer than its 200 neighbours"
		return
	fi
	local table=$MONITOR
	[[ $table == test ]] && table=$TEST
	args+=(--monitor "$table" --monitor-every "$MONITOR_EVERY" --monitor-limit "$MONITOR_LIMIT")
}

# stage_extract KEY DIR ENCODER_ARGS... writes DIR/features/train.arrow and
# test.arrow with the encoder extract's ENCODER_ARGS name (--checkpoint
# FILE, or --random-init ...).
stage_extract() {
	local key=$1 dir=$2
	shift 2
	local out=$dir/features inputs=("$TRAIN" "$TEST") a
	local want="encoder=$* eval_limit=$EVAL_LIMIT"
	want+=$(precision_setting)
	for a in "$@"; do [[ -f $a ]] && inputs+=("$a"); done # the checkpoint
	if ! forced extract && fresh "$key" "$want" "$out/train.arrow" "$out/test.arrow" -- "${inputs[@]}"; then
		say "$key: features in $out are up to date, skipped"
		return
	fi
	mkdir -p "$out"
	say "$key: features of the training and test images -> $out (encoder: $*)"
	timed "$key" extract_both "$out" "$@"
	done_with "$key" "$want"
}

extract_both() {
	local out=$1
	shift
	"$BIN_DIR/extract" "$TRAIN" -o "$out/train.arrow" --limit "$EVAL_LIMIT" --threads "$THREADS" --precision "$PRECISION" "$@" || return
	"$BIN_DIR/extract" "$TEST" -o "$out/test.arrow" --limit "$EVAL_LIMIT" --threads "$THREADS" --precision "$PRECISION" "$@"
}

# stage_probe KEY DIR scores DIR/features with the linear probe and kNN:
# DIR/linprobe.json (the report), linprobe.txt (the printed tables) and
# test_pca.png (the test features' 2-d map).
stage_probe() {
	local key=$1 dir=$2
	local want="knn=$KNN probe_epochs=$PROBE_EPOCHS seed=$SEED"
	local outs=("$dir/linprobe.json" "$dir/linprobe.txt" "$dir/test_pca.png")
	if ! forced probe && fresh "$key" "$want" "${outs[@]}" -- "$dir/features/train.arrow" "$dir/features/test.arrow"; then
		say "$key: $dir/linprobe.json is up to date, skipped"
		return
	fi
	say "$key: linear probe and kNN on $dir/features -> $dir/linprobe.json"
	timed "$key" probe_pipe "$dir"
	done_with "$key" "$want"
}

probe_pipe() {
	local dir=$1
	"$BIN_DIR/linprobe" --train "$dir/features/train.arrow" --test "$dir/features/test.arrow" \
		--knn "$KNN" --epochs "$PROBE_EPOCHS" --seed "$SEED" --threads "$THREADS" \
		--report "$dir/linprobe.json" --map "$dir/test_pca.png" | tee "$dir/linprobe.txt.tmp" || return
	mv "$dir/linprobe.txt.tmp" "$dir/linprobe.txt"
}

# write_results ARGS... writes RUN_DIR/results.json and summary.md with
# the results tool: the settings and the recorded stage times, plus ARGS.
write_results() {
	local args=(--run-dir "$RUN_DIR") n key
	for n in "${SETTINGS[@]}"; do args+=(--setting "$n=${!n}"); done
	for key in "${TIMED_STAGES[@]}"; do
		[[ -f $MANIFEST/$key.seconds ]] && args+=(--stage "$key=$(<"$MANIFEST/$key.seconds")")
	done
	"$BIN_DIR/results" "${args[@]}" "$@"
	say "results: $RUN_DIR/results.json, $RUN_DIR/summary.md"
}

# The reference's published figures, shown beside the measured ones.
# shellcheck disable=SC2034 # used by the pipelines
REFERENCE=(
	--reference "SimCLR linear eval=68.23%"
	--reference "supervised ResNet-18=93.43%"
	--reference "random encoder (linear)=~10%"
)
