#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# trace_readers_test.sh - every trace reader gives the same answer on every
# case of tests/malformed-traces.tsv: accepted, or refused with the same
# message and its tool's exit code for bad input.
#
#   tests/trace_readers_test.sh ZPOOL_STRESS TRACE_TOOL|- ZPOOL_BENCH|-
#
# A reader given as '-' is not built in this preset and is skipped.
# trace_tool check exits 1 on a bad trace (checking is its job: a bad trace
# is its finding), zpool_stress and zpool_bench exit 2 (a bad input file).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init tests/trace_readers_test.sh
[ $# -eq 3 ] || cli_usage_error "needs ZPOOL_STRESS TRACE_TOOL ZPOOL_BENCH"
stress=$1 tool=$2 bench=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 checked=0

# expect NAME READER WANT_RC REGEX CMD...: run CMD, check its exit and stderr.
expect() {
	local name=$1 reader=$2 want=$3 re=$4 rc=0
	shift 4
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	checked=$((checked + 1))
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name/$reader: exit $rc, want $want: $(head -c 300 "$tmp/err")" >&2
		fails=$((fails + 1))
	elif [ "$re" != ok ] && ! grep -qE -- "$re" "$tmp/err"; then
		echo "FAIL $name/$reader: stderr does not match '$re': $(head -c 300 "$tmp/err")" >&2
		fails=$((fails + 1))
	fi
}

while IFS=$'\t' read -r name bytes want; do
	case "$name" in '#'* | '') continue ;; esac
	mkdir -p "$tmp/$name"
	f=$tmp/$name/$name.trace
	# shellcheck disable=SC2059 # the column is a printf format on purpose
	printf -- "$bytes" >"$f"
	if [ "$want" = ok ]; then
		expect "$name" zpool_stress 0 ok "$stress" --backend zbud --ops 200 --sizes "$f"
		[ "$tool" = - ] || expect "$name" trace_tool 0 ok "$tool" check "$f"
		[ "$bench" = - ] || expect "$name" zpool_bench 0 ok "$bench" --traces="$tmp/$name" \
			--main_trace="$name" --benchmark_list_tests=true
	else
		expect "$name" zpool_stress 2 "$want" "$stress" --backend zbud --ops 200 --sizes "$f"
		[ "$tool" = - ] || expect "$name" trace_tool 1 "$want" "$tool" check "$f"
		[ "$bench" = - ] || expect "$name" zpool_bench 2 "$want" "$bench" --traces="$tmp/$name" \
			--main_trace="$name" --benchmark_list_tests=true
	fi
done <"$(dirname "$0")/malformed-traces.tsv"
echo "trace_readers_test: $checked checks, $fails failed"
[ $fails -eq 0 ]
