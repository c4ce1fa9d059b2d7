#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# coverage.sh - line and branch coverage of zpool/ and backends/ reached by
# the seed corpora (and regressions) alone, with clang source-based coverage.
#
#   fuzz/coverage.sh [--build DIR] [--out DIR]
#
# Builds the targets with the replay main (no libFuzzer, no sanitizers) and
# -fprofile-instr-generate -fcoverage-mapping, replays corpus/<target>/ and
# corpus/regressions/<target>/, merges the profiles with llvm-profdata-14 and
# prints llvm-cov-14's per-file report, then every line of backends/zbud that
# no seed reached. The HTML report goes to OUT/html (default
# build/fuzz-coverage). Exit 1 if zbud's line coverage is under 95%.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/fuzz-coverage-build out=$root/build/fuzz-coverage
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$(realpath -m "$2"); shift 2 ;;
	--out) out=$(realpath -m "$2"); shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--out DIR]" >&2; exit 2 ;;
	esac
done
targets=(zpool_ops_fuzzer zpool_diff_fuzzer zbud_reclaim_fuzzer)
flags="-fprofile-instr-generate -fcoverage-mapping"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DZPOOL_SANITIZE= \
	-DZPOOL_FUZZ=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >/dev/null
rm -rf "$out" && mkdir -p "$out"
objs=()
for t in "${targets[@]}"; do
	LLVM_PROFILE_FILE="$out/$t.profraw" "$build/fuzz/$t" "$root/corpus/$t" \
		"$root/corpus/regressions/$t" >/dev/null
	objs+=(-object "$build/fuzz/$t")
done
llvm-profdata-14 merge -o "$out/seeds.profdata" "$out"/*.profraw
cov=(-instr-profile="$out/seeds.profdata" "${objs[@]:1}")
src=("$root/zpool" "$root/backends")
llvm-cov-14 report "${cov[@]}" "${src[@]}" | sed "s|$root/||"
llvm-cov-14 show "${cov[@]}" -format=html -output-dir="$out/html" "${src[@]}" >/dev/null
echo
echo "Lines of backends/zbud no seed reached (line: count | source):"
llvm-cov-14 show "${cov[@]}" "$root/backends/zbud" |
	awk -F'|' '$2 ~ /^ *0$/ { print "  " $1 "|" $3 }'
pct=$(llvm-cov-14 report "${cov[@]}" "$root/backends/zbud" | awk '/^TOTAL/ { print $10 }')
echo "zbud line coverage: $pct (target >= 95%)"
awk -v p="${pct%\%}" 'BEGIN { exit !(p >= 95) }'
