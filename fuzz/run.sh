#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh - build the fuzz targets (fuzz preset: clang, libFuzzer, ASan+UBSan)
# and run each for a while from its seeds and regressions.
#
#   fuzz/run.sh [--seconds N] [--timeout S] [--jobs J] [--work DIR] [--merge]
#               [--corpus DIR] [--build DIR] [--no-build] [target...]
#
#   --seconds N  run each target N seconds (default 20)
#   --timeout S  an input that runs longer than S seconds is a hang, a
#                finding like a crash (libFuzzer -timeout; default 10)
#   --jobs J     libFuzzer -fork=J worker processes per target (default 1)
#   --work DIR   where new inputs, artifacts, logs and summary.json go
#                (default build/fuzz-work); new inputs of target T are kept
#                in DIR/T/corpus across runs
#   --merge      afterwards, merge inputs with new coverage into corpus/T
#                (libFuzzer -merge=1; only inputs that add coverage are added)
#   --corpus DIR seeds are read from DIR/T and DIR/regressions/T, and --merge
#                writes into DIR/T (default: the repository's corpus/)
#   --build DIR  build directory (default build/fuzz, the fuzz preset's)
#   --no-build   use the binaries already in the build directory
#   target...    default: all targets (fuzz/targets.txt)
#
# Prints one line per target:
#   FUZZ-SUMMARY target=T seconds=N execs=E exec_per_sec=X cov=C ft=F result=ok|FAIL|HANG
# and writes the same as JSON to DIR/summary.json. Exit status
# (docs/exit-codes.md): 1 if any target crashed, aborted on a model
# mismatch, hung (an input over --timeout: a timeout- artifact,
# result=HANG) or left another artifact (crash-, leak-, oom-), 2 on a usage
# error, 3 when the build failed or a binary is missing. Every finding is
# listed with its input and the command that replays it.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/run.sh
root=$CLI_ROOT
mapfile -t all_targets < <("$root/fuzz/targets.sh")
seconds=20 timeout=10 jobs=1 work=$root/build/fuzz-work build=$root/build/fuzz merge=0 do_build=1
corpus=$root/corpus
targets=()

while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--seconds) cli_need_value "$1" $#; cli_uint seconds "$1" "$2" 1; shift 2 ;;
	--timeout) cli_need_value "$1" $#; cli_uint timeout "$1" "$2" 1; shift 2 ;;
	--jobs) cli_need_value "$1" $#; cli_uint jobs "$1" "$2" 1 1024; shift 2 ;;
	--work) cli_need_value "$1" $#; work=$(cli_path "$2"); shift 2 ;;
	--build) cli_need_value "$1" $#; build=$(cli_path "$2"); shift 2 ;;
	--merge) merge=1; shift ;;
	--corpus) cli_need_value "$1" $#; corpus=$(cli_path "$2"); shift 2 ;;
	--no-build) do_build=0; shift ;;
	-*) cli_usage_error "unknown option '$1'" ;;
	*)
		[[ " ${all_targets[*]} " == *" $1 "* ]] ||
			cli_usage_error "unknown target '$1' (targets: ${all_targets[*]})"
		targets+=("$1"); shift ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

if [ $do_build = 1 ]; then
	(cd "$root" && cmake --preset fuzz -B "$build" >/dev/null &&
		cmake --build "$build" -j "$(nproc)" --target "${targets[@]}") ||
		cli_fail "building the fuzz preset in $build failed"
fi

mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0 harness=0
json="["
for t in "${targets[@]}"; do
	bin=$build/fuzz/$t
	[ -x "$bin" ] || cli_fail "$bin not built (drop --no-build, or build the fuzz preset there)"
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/artifacts"
	log=$dir/fuzz.log
	args=(-max_total_time="$seconds" -timeout="$timeout" -max_len=4096 -print_final_stats=1
		-artifact_prefix="$dir/artifacts/")
	[ -s "$root/fuzz/$t.dict" ] && args+=(-dict="$root/fuzz/$t.dict")
	# Fork mode ignores timeouts and OOMs unless told: stop at the first finding.
	[ "$jobs" -gt 1 ] && args+=(-fork="$jobs" -ignore_crashes=0 -ignore_timeouts=0 -ignore_ooms=0)
	rc=0
	# libFuzzer ends a hung input itself; the outer limit catches a run
	# that cannot be interrupted at all (exit 124, or 137 after the kill).
	timeout -k 10 $((seconds + 2 * timeout + 60)) \
		"$bin" "${args[@]}" "$dir/corpus" "$corpus/$t" "$corpus/regressions/$t" \
		>"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
	if [ -z "$eps" ]; then # fork mode prints progress lines only
		eps=$(grep -oE 'exec/s:? [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+$' || true)
		execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
	fi
	c=$(echo "$cov" | awk '{print $2}') f=$(echo "$cov" | awk '{print $4}')
	result=ok
	if [ $rc -ne 0 ] || [ -n "$(ls -A "$dir/artifacts")" ]; then
		result=FAIL failed=1
		ls "$dir"/artifacts/timeout-* >/dev/null 2>&1 && result=HANG
		echo "run.sh: $t failed (exit $rc); log: $log" >&2
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			result=HANG
			echo "run.sh: $t: HANG: the run overran its limit and was killed;" \
				"no input written (the last one libFuzzer ran is in the log)" >&2
		fi
		for a in "$dir"/artifacts/*; do
			[ -e "$a" ] || continue
			case $(basename "$a") in
			timeout-*) echo "run.sh: $t: HANG: an input ran longer than $timeout s: $a" >&2 ;;
			*) echo "run.sh: $t: finding: $a" >&2 ;;
			esac
			echo "run.sh:   replay: $bin -timeout=$timeout $a" >&2
		done
		grep -E 'MISMATCH|ERROR|BUG|ALARM' "$log" | head -n 5 >&2 || true
	fi
	if [ $merge = 1 ] && [ $result = ok ]; then
		before=$(find "$corpus/$t" -type f | wc -l)
		"$bin" -merge=1 -timeout="$timeout" -max_len=4096 "$corpus/$t" "$dir/corpus" >"$dir/merge.log" 2>&1 ||
			{ echo "run.sh: merge of $t failed, see $dir/merge.log" >&2; harness=1; }
		echo "run.sh: merged $(($(find "$corpus/$t" -type f | wc -l) - before)) new inputs into $corpus/$t"
	fi
	echo "FUZZ-SUMMARY target=$t seconds=$seconds timeout=$timeout jobs=$jobs execs=${execs:-0}" \
		"exec_per_sec=${eps:-0} cov=${c:-0} ft=${f:-0} result=$result"
	[ "$json" = "[" ] || json+=","
	json+=$(printf '\n  {"target": "%s", "seconds": %s, "timeout": %s, "jobs": %s, "execs": %s, "exec_per_sec": %s, "cov": %s, "ft": %s, "result": "%s"}' \
		"$t" "$seconds" "$timeout" "$jobs" "${execs:-0}" "${eps:-0}" "${c:-0}" "${f:-0}" "$result")
done
printf '%s\n]\n' "$json" >"$work/summary.json"
[ $failed = 0 ] || exit $CLI_EXIT_FINDING
[ $harness = 0 ] || exit $CLI_EXIT_HARNESS
exit 0
