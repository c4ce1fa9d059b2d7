#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# emit_c_test.sh - the trace mode (fuzz/emit_c.h) on the committed seeds:
# for the first N seeds of every fuzz target, the target writes the C
# program of the calls the seed decodes to (ZPOOL_FUZZ_EMIT_C); every
# program must build against the installed package of BUILD (find_package,
# with BUILD's sanitizers) and pass, since the seeds pass on this code.
# A program that fails here is a program that would accuse a correct
# allocator.
#
#   fuzz/emit_c_test.sh BUILD [N]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help) sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"" | -*) echo "usage: fuzz/emit_c_test.sh BUILD [N]" >&2; exit 2 ;;
esac
build=$(cd "$1" && pwd)
n=${2:-4}
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "emit_c_test: N must be a positive number" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
made=0
for t in $(fuzz/targets.sh); do
	bin=$build/fuzz/$t
	[ -x "$bin" ] || { echo "emit_c_test: no $bin" >&2; exit 1; }
	for seed in $(ls corpus/"$t" | sort | head -n "$n"); do
		out=$tmp/programs/$t-$seed
		mkdir -p "$out"
		ZPOOL_FUZZ_EMIT_C=$out/repro.c "$bin" "corpus/$t/$seed" >"$out/run.log" 2>&1 ||
			{ cat "$out/run.log"; echo "emit_c_test: $t fails on its seed $seed" >&2; exit 1; }
		grep -q '^int main(void)' "$out/repro.c" ||
			{ echo "emit_c_test: $t wrote no program for $seed" >&2; exit 1; }
		made=$((made + 1))
	done
done
python3 scripts/triage.py --check-c "$build" --findings "$tmp/programs" --work "$tmp/work" || {
	echo "emit_c_test: a program of a passing seed does not build or fails (above)" >&2
	exit 1
}
echo "emit_c_test: $made programs built against the installed package and passed"
