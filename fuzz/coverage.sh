#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# coverage.sh - line and branch coverage of zpool/ and backends/ reached by
# the seed corpora (and regressions) alone, with clang source-based coverage.
#
#   fuzz/coverage.sh [--build DIR] [--out DIR] [--corpus DIR]
#
# Builds the targets with the replay main (no libFuzzer, no sanitizers) and
# -fprofile-instr-generate -fcoverage-mapping, replays corpus/<target>/ and
# corpus/regressions/<target>/, merges the profiles with llvm-profdata-14 and
# prints llvm-cov-14's per-file report, then every line of backends/zbud and
# zpool/ that no seed reached. --corpus replays DIR/<target>/ and
# DIR/regressions/<target>/ instead of corpus/ (e.g. a clean export of the
# committed corpus, when corpus/ holds uncommitted inputs). The HTML report goes to OUT/html (default
# build/fuzz-coverage). OUT is emptied first, but only if it is new, empty
# or made by a zpool-harness tool (it holds .zpool-harness-owned); any
# other folder is refused (exit 2). Exit status (docs/exit-codes.md): 1 if
# zbud's line coverage is under 95%, 2 usage, 3 a build or tool failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/coverage.sh
root=$CLI_ROOT
build=$root/build/fuzz-coverage-build out=$root/build/fuzz-coverage corpus=$root/corpus
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--build) cli_need_value "$1" $#; build=$(cli_path "$2"); shift 2 ;;
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	--corpus) cli_need_value "$1" $#; corpus=$(cli_path "$2"); shift 2 ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done
cli_clean_dir "$out"
trap 'cli_fail "a step failed (line $LINENO)"' ERR
mapfile -t targets < <("$root/fuzz/targets.sh")
flags="-fprofile-instr-generate -fcoverage-mapping"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DZPOOL_SANITIZE= \
	-DZPOOL_FUZZ=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >/dev/null
objs=()
for t in "${targets[@]}"; do
	LLVM_PROFILE_FILE="$out/$t.profraw" "$build/fuzz/$t" "$corpus/$t" \
		"$corpus/regressions/$t" >/dev/null
	objs+=(-object "$build/fuzz/$t")
done
llvm-profdata-14 merge -o "$out/seeds.profdata" "$out"/*.profraw
cov=(-instr-profile="$out/seeds.profdata" "${objs[@]:1}")
src=("$root/zpool" "$root/backends")
llvm-cov-14 report "${cov[@]}" "${src[@]}" | sed "s|$root/||"
llvm-cov-14 show "${cov[@]}" -format=html -output-dir="$out/html" "${src[@]}" >/dev/null
echo
for dir in backends/zbud zpool; do
	echo "Lines of $dir no seed reached (file:line: count | source):"
	# llvm-cov names the file only when it shows more than one.
	llvm-cov-14 show "${cov[@]}" "$root/$dir" |
		awk -F'|' -v root="$root/" -v f="$dir" '/^\/.*:$/ { f = substr($0, length(root) + 1); sub(/:$/, "", f) }
			$2 ~ /^ *0$/ { sub(/^ */, "", $1); print "  " f ":" $1 "|" $3 }'
done
pct=$(llvm-cov-14 report "${cov[@]}" "$root/backends/zbud" | awk '/^TOTAL/ { print $10 }')
echo "zbud line coverage: $pct (target >= 95%)"
trap - ERR
awk -v p="${pct%\%}" 'BEGIN { exit !(p >= 95) }'
