#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# compare_harness.sh - the fuzz targets of an older commit beside today's,
# on the zoo's mutants: does the harness catch any bug later than before?
#
#   fuzz/compare_harness.sh --old COMMIT --zoo DIR [bug...]
#
#   --old COMMIT  the commit whose fuzz/ (targets and helpers) is compared
#   --zoo DIR     a zoo/run.sh --out folder: its mutants' builds
#                 (DIR/build/<bug>/fuzz: libzpool.a and today's targets)
#   bug...        default: every bug built there, and "clean"
#
# The old targets are compiled from `git archive COMMIT fuzz` with the fuzz
# preset's flags and linked with each mutant's libzpool.a; each old and new
# target then fuzzes from a copy of today's committed seeds, as zoo/run.sh
# does (-max_total_time=20 -timeout=5 -max_len=4096), one right after the
# other. Prints per bug:
#   BUG | TARGET new=S old=S ...
# S is the seconds until the target failed, "(seed)" when an unmutated
# seed failed and "(mutation)" when a mutated input did, or "-" when it
# did not fail within 20 s. A failure on "clean" is a false alarm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old_commit= zoo=
usage() { sed -n '7,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
bugs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--old) [ $# -ge 2 ] || usage 2 >&2; old_commit=$2; shift 2 ;;
	--zoo) [ $# -ge 2 ] || usage 2 >&2; zoo=$(realpath -m "$2"); shift 2 ;;
	-h | --help) usage 0 ;;
	-*) echo "compare_harness.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
	*) bugs+=("$1"); shift ;;
	esac
done
[ -n "$old_commit" ] && [ -n "$zoo" ] || usage 2 >&2
[ -d "$zoo/build" ] || { echo "compare_harness.sh: $zoo has no zoo builds" >&2; exit 2; }
[ ${#bugs[@]} -gt 0 ] || mapfile -t bugs < <(ls "$zoo/build")
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$old_commit" fuzz | tar -x -C "$tmp"
mapfile -t targets < <(fuzz/targets.sh)
flags=(-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
	-fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp -std=gnu11 -I"$root/include"
	-fsanitize-coverage-ignorelist="$tmp/fuzz/coverage_ignore.txt")
for t in "${targets[@]}"; do
	clang "${flags[@]}" -c "$tmp/fuzz/$t.c" -o "$tmp/$t.o"
done
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# run BINARY TARGET: the seconds until it failed, or "-".
run() {
	local w=$tmp/run start rc=0
	rm -rf "$w" && mkdir -p "$w/c" "$w/a" && cp -r "corpus/$2/." "$w/c/"
	start=$(date +%s.%N)
	timeout -k 5 40 "$1" -max_total_time=20 -timeout=5 -max_len=4096 -artifact_prefix="$w/a/" \
		"$w/c" >"$w/log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		printf -- "-"
		return
	fi
	awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'
	if grep -q "^MS: 0 ;" "$w/log"; then printf "(seed)"; else printf "(mutation)"; fi
}
for bug in "${bugs[@]}"; do
	lib=$zoo/build/$bug/fuzz/libzpool.a
	[ -f "$lib" ] || { echo "$bug: no $lib" >&2; continue; }
	line=$bug
	for t in "${targets[@]}"; do
		new=$(find "$zoo/build/$bug/fuzz" -type f -name "$t" -perm -u+x -print -quit)
		clang++ -fsanitize=address,undefined,fuzzer "$tmp/$t.o" "$lib" -lpthread -lm -o "$tmp/old-$t"
		line+=" | $t new=$(run "$new" "$t") old=$(run "$tmp/old-$t" "$t")"
	done
	echo "$line"
done
