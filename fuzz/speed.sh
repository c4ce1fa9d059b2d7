#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# speed.sh - executions per second of one fuzz target, one process, from the
# committed seeds, with the machine's load beside each figure.
#
#   fuzz/speed.sh [--runs N] [--seconds S] [--cpu C] [--build DIR] [target]
#
#   --runs N     first measure: libFuzzer -runs=N (default 100000)
#   --seconds S  second measure: -max_total_time=S (default 20)
#   --cpu C      pin the process to CPU C with taskset (default: not pinned)
#   --build DIR  a fuzz-preset build (default build/fuzz-run; not rebuilt)
#   target       default zpool_ops_fuzzer
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
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=100000 seconds=20 cpu= build=$root/build/fuzz-run target=zpool_ops_fuzzer

usage() {
	sed -n '7,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
number() {
	[[ "$2" =~ ^[0-9]+$ ]] || { echo "speed.sh: $1 needs a number, got '$2'" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) [ $# -ge 2 ] || usage; number "$1" "$2"; runs=$2; shift 2 ;;
	--seconds) [ $# -ge 2 ] || usage; number "$1" "$2"; seconds=$2; shift 2 ;;
	--cpu) [ $# -ge 2 ] || usage; number "$1" "$2"; cpu=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$(realpath -m "$2"); shift 2 ;;
	-h | --help) usage ;;
	-*) echo "speed.sh: unknown option '$1'" >&2; usage ;;
	*) target=$1; shift ;;
	esac
done
bin=$build/fuzz/$target
[ -x "$bin" ] || { echo "speed.sh: $bin not built (cmake --preset fuzz -B $build)" >&2; exit 2; }

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
measure() {
	local mode=$1 flag=$2 before after wall user sys execs TIMEFORMAT='%R %U %S'
	rm -rf "$tmp/new" && mkdir "$tmp/new"
	before=$(load)
	{ time "${pin[@]}" "$bin" "$flag" -max_len=4096 -seed=1 -print_final_stats=1 "$tmp/new" \
		"$tmp/seeds" >"$tmp/log" 2>&1; } 2>"$tmp/time" || { tail -n 20 "$tmp/log" >&2; exit 1; }
	after=$(load)
	read -r wall user sys <"$tmp/time"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log")
	echo "SPEED target=$target mode=$mode execs=$execs" \
		"exec_per_sec=$(awk -v e="$execs" -v t="$wall" 'BEGIN { printf "%.0f", e / t }')" \
		"exec_per_cpu_sec=$(awk -v e="$execs" -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", e / (u + s) }')" \
		"cov=$(grep -oE 'cov: [0-9]+' "$tmp/log" | tail -n 1 | cut -d' ' -f2)" \
		"load_before=$before load_after=$after"
}
[ "$runs" -gt 0 ] && measure runs -runs="$runs"
[ "$seconds" -gt 0 ] && measure seconds -max_total_time="$seconds"
exit 0
