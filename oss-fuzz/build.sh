#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-only
#
# build.sh - OSS-Fuzz / ClusterFuzzLite build of the zpool-harness fuzzers.
#
# Uses only what the fuzzing infrastructure provides: $CC, $CFLAGS (sanitizer
# and coverage flags of the engine), $LIB_FUZZING_ENGINE, $SRC, $WORK, $OUT.
# Compiles zpool/*.c and backends/<name>/*.c for every ZPOOL_BACKEND(name)
# line of backends/backends.def (as the CMake build does), and the fuzz
# harness library (fuzz/targets.sh --harness) once, links each target of
# fuzz/targets.txt with both and the engine, and puts in $OUT per fuzzer: the binary,
# <fuzzer>_seed_corpus.zip (corpus/<fuzzer>/ plus its regressions),
# <fuzzer>.dict (if not empty) and <fuzzer>.options.
# ZPOOL_EXTRA_BACKENDS (folders separated by ';') adds out-of-tree backends
# as cmake/backends.cmake does (scripts/lib/backends.sh).
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

. "$src/scripts/lib/backends.sh"
zpool_backends "$src" "$build/generated" || { echo "build.sh: no backend list" >&2; exit 1; }
backends=${ZPOOL_BACKEND_NAMES[*]}
sources=("$src"/zpool/*.c "${ZPOOL_BACKEND_SOURCES[@]}")

objs=()
for f in "${sources[@]}"; do
	o=$build/$(echo "${f#$src/}" | tr / _).o
	$CC $CFLAGS -std=gnu11 -I"$src/include" -I"$build/generated" -I"$src/zpool" -I"$src/backends" \
		-c "$f" -o "$o"
	objs+=("$o")
done
ar rcs "$build/libzpool.a" "${objs[@]}"

# The shadow model and input reader, built once for every target.
hobjs=()
for f in $("$src/fuzz/targets.sh" --harness); do
	o=$build/fuzz_$(basename "$f" .c).o
	$CC $CFLAGS -std=gnu11 -I"$src/include" -c "$f" -o "$o"
	hobjs+=("$o")
done
ar rcs "$build/libfuzz_harness.a" "${hobjs[@]}"

# The targets: fuzz/targets.txt.
for t in $("$src/fuzz/targets.sh"); do
	$CC $CFLAGS -std=gnu11 -I"$src/include" -c "$src/fuzz/$t.c" -o "$build/$t.o"
	# The engine may be a C++ library (libFuzzer, AFL++ driver): link with $CXX.
	${CXX:-clang++} $CXXFLAGS "$build/$t.o" -o "$OUT/$t" $LIB_FUZZING_ENGINE \
		"$build/libfuzz_harness.a" "$build/libzpool.a" -lpthread -lm
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
