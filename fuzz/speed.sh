#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# speed.sh - executions per second of one fuzz target, one process, from the
# committed seeds, with the machine's load beside each figure.
#
#   fuzz/speed.sh [--runs N] [--seconds S] [--cpu C] [--build DIR] [--nocheck] [target]
#
#   --runs N     first measure: libFuzzer -runs=N (default 100000)
#   --seconds S  second measure: -max_total_time=S (default 20)
#   --cpu C      pin the process to CPU C with taskset (default: not pinned)
#   --build DIR  a fuzz-preset build (default build/fuzz, the fuzz preset's;
#                not rebuilt: cmake --preset fuzz && cmake --build --preset fuzz)
#   --nocheck    also build <target>_nocheck (the harness with FZ_CHECK_OPS=0:
#                checks at the end of each input only) and measure it right
#                before the target, each measure, then print their ratio
#   target       a target of fuzz/targets.txt (default zpool_ops_fuzzer)
#
# The seeds are the files git tracks under corpus/<target>/ (uncommitted
# inputs left there by campaigns are not used), copied to a scratch folder;
# new inputs go to another scratch folder, so corpus/ is never written.
# -max_len=4096 and -seed=1 in both runs. Prints per measure:
#   SPEED target=T mode=runs|seconds execs=E exec_per_sec=X exec_per_cpu_sec=Y cov=C
#         load_before=L load_after=L
# exec_per_sec is executions over wall time (loading the seeds included),
# exec_per_cpu_sec over the process's user + system time. The load is the
# 1-minute load average: above the number of CPUs, both are lower bounds.
# With --nocheck each SPEED line says variant=check or variant=nocheck, and
#   SPEED-RATIO target=T mode=M check=X nocheck=Y ratio=R
# follows (R: check over nocheck, in exec per CPU second).
# ZPOOL_FUZZ_BACKEND is passed on (zpool_ops_fuzzer: one backend only).
# Exit status (docs/exit-codes.md): 0 measured, 2 usage, 3 the binary is
# missing or the fuzzer failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/speed.sh
root=$CLI_ROOT
runs=100000 seconds=20 cpu= build=$root/build/fuzz target=zpool_ops_fuzzer nocheck=0
mapfile -t all_targets < <("$root/fuzz/targets.sh")

while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--runs) cli_need_value "$1" $#; cli_uint runs "$1" "$2"; shift 2 ;;
	--seconds) cli_need_value "$1" $#; cli_uint seconds "$1" "$2"; shift 2 ;;
	--cpu) cli_need_value "$1" $#; cli_uint cpu "$1" "$2" 0 4095; shift 2 ;;
	--build) cli_need_value "$1" $#; build=$(cli_path "$2"); shift 2 ;;
	--nocheck) nocheck=1; shift ;;
	-*) cli_usage_error "unknown option '$1'" ;;
	*)
		[[ " ${all_targets[*]} " == *" $1 "* ]] ||
			cli_usage_error "unknown target '$1' (targets: ${all_targets[*]})"
		target=$1; shift ;;
	esac
done
bin=$build/fuzz/$target
[ -x "$bin" ] || cli_fail "$bin not built (cmake --preset fuzz -B $build && cmake --build $build)"
if [ $nocheck = 1 ]; then
	cmake --build "$build" --target "${target}_nocheck" >/dev/null ||
		cli_fail "cannot build ${target}_nocheck in $build"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/seeds"
git -C "$root" ls-files -z "corpus/$target" | (cd "$root" && xargs -0 -r cp -t "$tmp/seeds")
[ -n "$(ls -A "$tmp/seeds")" ] || { echo "speed.sh: no committed seeds for $target" >&2; exit 2; }
pin=()
[ -n "$cpu" ] && pin=(taskset -c "$cpu")
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

load() { cut -d' ' -f1 /proc/loadavg; }
# failed MODE: the target stopped; a crash or mismatch is a finding (exit 1,
# reproduce it with fuzz/run.sh, which keeps artifacts), anything else the
# harness's failure (exit 3).
failed() {
	tail -n 20 "$tmp/log" >&2
	if grep -qE 'deadly signal|ERROR: [A-Za-z]+Sanitizer|runtime error|MISMATCH|zpool BUG' "$tmp/log"; then
		echo "fuzz/speed.sh: $target found a bug while measuring ($1); fuzz/run.sh $target keeps the reproducer" >&2
		exit $CLI_EXIT_FINDING
	fi
	cli_fail "$target failed ($1); see the log above"
}
# measure MODE FLAG BINARY VARIANT: one run; prints its SPEED line and
# leaves its executions per CPU second in $eps_cpu.
measure() {
	local mode=$1 flag=$2 exe=$3 variant=$4 before after wall user sys execs TIMEFORMAT='%R %U %S'
	rm -rf "$tmp/new" && mkdir "$tmp/new"
	before=$(load)
	{ time "${pin[@]}" "$exe" "$flag" -max_len=4096 -seed=1 -print_final_stats=1 "$tmp/new" \
		-artifact_prefix="$tmp/" "$tmp/seeds" >"$tmp/log" 2>&1; } 2>"$tmp/time" || failed "$mode"
	after=$(load)
	read -r wall user sys <"$tmp/time"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log")
	eps_cpu=$(awk -v e="$execs" -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", e / (u + s) }')
	echo "SPEED target=$target${variant:+ variant=$variant} mode=$mode execs=$execs" \
		"exec_per_sec=$(awk -v e="$execs" -v t="$wall" 'BEGIN { printf "%.0f", e / t }')" \
		"exec_per_cpu_sec=$eps_cpu" \
		"cov=$(grep -oE 'cov: [0-9]+' "$tmp/log" | tail -n 1 | cut -d' ' -f2)" \
		"load_before=$before load_after=$after"
}
# both MODE FLAG: with --nocheck the no-check twin, then the target, and
# their ratio; else the target alone.
both() {
	local nc
	if [ $nocheck = 0 ]; then
		measure "$1" "$2" "$bin" ""
		return
	fi
	measure "$1" "$2" "${bin}_nocheck" nocheck
	nc=$eps_cpu
	measure "$1" "$2" "$bin" check
	echo "SPEED-RATIO target=$target mode=$1 check=$eps_cpu nocheck=$nc" \
		"ratio=$(awk -v a="$eps_cpu" -v b="$nc" 'BEGIN { printf "%.3f", a / b }')"
}
[ "$runs" -gt 0 ] && both runs -runs="$runs"
[ "$seconds" -gt 0 ] && both seconds -max_total_time="$seconds"
exit 0
