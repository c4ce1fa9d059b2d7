#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh - OSS-Fuzz / ClusterFuzzLite build of the zpool-harness fuzzers.
#
# Uses only what the fuzzing infrastructure provides: $CC, $CFLAGS (sanitizer
# and coverage flags of the engine), $LIB_FUZZING_ENGINE, $SRC, $WORK, $OUT.
# Compiles zpool/*.c and backends/<name>/*.c for every ZPOOL_BACKEND(name)
# line of backends/backends.def (as the CMake build does), links each target
# with the engine, and puts in $OUT per fuzzer: the binary,
# <fuzzer>_seed_corpus.zip (corpus/<fuzzer>/ plus its regressions),
# <fuzzer>.dict (if not empty) and <fuzzer>.options.
# ZPOOL_EXTRA_BACKENDS (folders separated by ';') adds out-of-tree backends
# as cmake/backends.cmake does: each folder's .c files, named by the
# ZPOOL_BACKEND(name) lines of its backend.def or by the folder.
# It takes no arguments
# but --help and --version. Exit status: 0 built, 2 usage, 1 a step failed.
case "${1:-}" in
-h | --help | --version)
	. "$(dirname "$0")/../scripts/lib/cli.sh"
	cli_init oss-fuzz/build.sh
	cli_common_flag "$1" ;;
"") ;;
*) echo "build.sh: no arguments expected, got '$1' (see --help)" >&2; exit 2 ;;
esac
src=${ZPOOL_SRC:-$SRC/zpool-harness}
build=$WORK/zpool-build
rm -rf "$build"
mkdir -p "$build" "$OUT"

backends=$(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' "$src/backends/backends.def")
[ -n "$backends" ] || { echo "build.sh: no ZPOOL_BACKEND lines in backends.def" >&2; exit 1; }
sources=("$src"/zpool/*.c)
for b in $backends; do
	ls "$src/backends/$b/"*.c >/dev/null 2>&1 ||
		{ echo "build.sh: backend $b has no .c file" >&2; exit 1; }
	sources+=("$src/backends/$b/"*.c)
done
IFS=';' read -r -a extra <<<"${ZPOOL_EXTRA_BACKENDS:-}"
for dir in "${extra[@]}"; do
	[ -n "$dir" ] || continue
	ls "$dir/"*.c >/dev/null 2>&1 || { echo "build.sh: $dir has no .c file" >&2; exit 1; }
	if [ -f "$dir/backend.def" ]; then
		names=$(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' "$dir/backend.def")
	else
		names=$(basename "$dir")
	fi
	[ -n "$names" ] || { echo "build.sh: $dir/backend.def names no backend" >&2; exit 1; }
	backends="$backends $names"
	sources+=("$dir/"*.c)
done
# The registry zpool.c includes: every backend, in-tree first.
mkdir -p "$build/generated"
for b in $backends; do echo "ZPOOL_BACKEND($b)"; done >"$build/generated/backends.def"

objs=()
for f in "${sources[@]}"; do
	o=$build/$(echo "${f#$src/}" | tr / _).o
	$CC $CFLAGS -std=gnu11 -I"$src/include" -I"$build/generated" -I"$src/zpool" -I"$src/backends" \
		-c "$f" -o "$o"
	objs+=("$o")
done
ar rcs "$build/libzpool.a" "${objs[@]}"

for t in zpool_ops_fuzzer zpool_diff_fuzzer zbud_reclaim_fuzzer; do
	$CC $CFLAGS -std=gnu11 -I"$src/include" -c "$src/fuzz/$t.c" -o "$build/$t.o"
	# The engine may be a C++ library (libFuzzer, AFL++ driver): link with $CXX.
	${CXX:-clang++} $CXXFLAGS "$build/$t.o" -o "$OUT/$t" $LIB_FUZZING_ENGINE \
		"$build/libzpool.a" -lpthread
	rm -f "$OUT/${t}_seed_corpus.zip"
	(cd "$src/corpus" && zip -q -r -j "$OUT/${t}_seed_corpus.zip" "$t" "regressions/$t" -x '*/.gitkeep')
	[ -s "$src/fuzz/$t.dict" ] && cp "$src/fuzz/$t.dict" "$OUT/$t.dict"
	# timeout: an input over 25 s is a hang and reported with its input (the
	# slowest input we measured runs in milliseconds; 25 s leaves room for
	# loaded bots and is ClusterFuzz's own default, written down so that a
	# local run of the options file bounds inputs too, not libFuzzer's 1200 s).
	cat >"$OUT/$t.options" <<OPTS
[libfuzzer]
max_len = 4096
timeout = 25
OPTS
	[ -s "$src/fuzz/$t.dict" ] && echo "dict = $t.dict" >>"$OUT/$t.options"
done
echo "build.sh: built $(echo $backends) into $OUT"
