#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# afl.sh - build a fuzz target with AFL++ (afl-clang-fast, ASan+UBSan, the
# libFuzzer entry point through AFL++'s driver) and run afl-fuzz on it for a
# while from its seeds and regressions.
#
#   fuzz/afl.sh [--seconds N] [--timeout S] [--build DIR] [--out DIR] [--no-build] [target]
#
#   --seconds N  afl-fuzz -V N: N seconds of fuzzing (default 10)
#   --timeout S  an input still running after S seconds is a hang, a finding
#                like a crash (AFL_HANG_TMOUT; default 10)
#   --build DIR  where the objects and binaries go (default build/afl)
#   --out DIR    afl-fuzz output (default build/afl-out); DIR/<target> is
#                emptied first. DIR must be new, empty or made by a
#                zpool-harness tool (.zpool-harness-owned), else exit 2
#   --no-build   use the binary already in the build directory
#   target       a target of fuzz/targets.txt (default zpool_ops_fuzzer)
#
# The build compiles the same sources as oss-fuzz/build.sh (zpool/*.c and
# each backend of backends/backends.def and ZPOOL_EXTRA_BACKENDS, listed by
# scripts/lib/backends.sh) with AFL_USE_ASAN and AFL_USE_UBSAN,
# and links /usr/lib/afl/libAFLDriver.a (or -fsanitize=fuzzer, which
# afl-clang-fast turns into the same driver, if the archive is elsewhere).
# The run is made for a shared CI machine: no CPU binding, no CPU frequency
# check, no UI, and no demand on /proc/sys/kernel/core_pattern (which a
# container may not let us set; a crash is still seen by afl-fuzz through
# the abort() the sanitizers and the model end with).
#
# Prints one line:
#   AFL-SUMMARY target=T seconds=N execs=E exec_per_sec=X corpus=C crashes=K hangs=H result=ok|FAIL
# Exit status (docs/exit-codes.md): 0 when afl-fuzz ran and found no crash
# and no hang; 1 on a crash or a hang; 2 on a usage error; 3 when the build
# or afl-fuzz failed or executed nothing; 77 when AFL++ is not installed
# (ctest reports the test as skipped).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/afl.sh
root=$CLI_ROOT
mapfile -t targets < <("$root/fuzz/targets.sh")
seconds=10 timeout=10 build=$root/build/afl out=$root/build/afl-out do_build=1 target=zpool_ops_fuzzer

while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--seconds) cli_need_value "$1" $#; cli_uint seconds "$1" "$2" 1; shift 2 ;;
	--timeout) cli_need_value "$1" $#; cli_uint timeout "$1" "$2" 1; shift 2 ;;
	--build) cli_need_value "$1" $#; build=$(cli_path "$2"); shift 2 ;;
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	--no-build) do_build=0; shift ;;
	-*) cli_usage_error "unknown option '$1'" ;;
	*)
		[[ " ${targets[*]} " == *" $1 "* ]] ||
			cli_usage_error "unknown target '$1' (targets: ${targets[*]})"
		target=$1; shift ;;
	esac
done
cli_own_dir "$out"

for tool in afl-clang-fast afl-fuzz; do
	command -v "$tool" >/dev/null || {
		echo "afl.sh: SKIPPED: $tool not found; install the Debian package afl++ (scripts/deps.sh)" >&2
		exit 77
	}
done

# build_target: compile the library and the target into $build with AFL++.
build_target() {
	local engine=/usr/lib/afl/libAFLDriver.a backends objs=() f o
	[ -f "$engine" ] || engine=-fsanitize=fuzzer
	. "$root/scripts/lib/backends.sh"
	zpool_backends "$root" "$build/generated" || exit 1
	mkdir -p "$build/obj"
	export AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1
	local cflags=(-O1 -g -std=gnu11 -I"$root/include" -I"$build/generated" -I"$root/zpool"
		-I"$root/backends")
	for f in "$root"/zpool/*.c "${ZPOOL_BACKEND_SOURCES[@]}"; do
		o=$build/obj/$(echo "${f#"$root"/}" | tr / _).o
		afl-clang-fast "${cflags[@]}" -c "$f" -o "$o"
		objs+=("$o")
	done
	for f in $("$root/fuzz/targets.sh" --harness) "$root/fuzz/$target.c"; do
		o=$build/obj/$(echo "${f#"$root"/}" | tr / _).o
		afl-clang-fast "${cflags[@]}" -c "$f" -o "$o"
		objs+=("$o")
	done
	afl-clang-fast++ "${objs[@]}" $engine -lpthread -lm -o "$build/$target"
}

if [ $do_build = 1 ]; then
	(build_target) || cli_fail "building $target with afl-clang-fast failed"
fi
bin=$build/$target
[ -x "$bin" ] || cli_fail "$bin not built (drop --no-build)"

# Seeds and regressions in one flat input folder (afl-fuzz reads one).
dir=$out/$target
rm -rf "$dir"
mkdir -p "$dir/in"
for d in "$root/corpus/$target" "$root/corpus/regressions/$target"; do
	[ -d "$d" ] || continue
	find "$d" -type f ! -name 'README*' ! -name '.gitkeep' -size -1024k |
		while read -r f; do cp "$f" "$dir/in/$(basename "$(dirname "$f")")-$(basename "$f")"; done
done
[ -n "$(ls -A "$dir/in")" ] || cli_fail "no seeds for $target"

export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
# A loaded machine may be slow to start the fork server.
export AFL_FORKSRV_INIT_TMOUT=30000
# afl-fuzz insists on abort_on_error and symbolize=0 to see sanitizer reports.
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:halt_on_error=1
export UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:symbolize=0
# -t 2000+: an input is stopped after 2 s (a loaded machine may be that
# slow) and seeds that slow are skipped, not fatal; AFL_HANG_TMOUT: a stopped
# input is run again with --timeout seconds, and only one still running then
# is saved as a hang, which fails the run.
export AFL_HANG_TMOUT=$((timeout * 1000))
rc=0
afl-fuzz -V "$seconds" -t 2000+ -m none -i "$dir/in" -o "$dir/out" -- "$bin" \
	>"$dir/afl.log" 2>&1 || rc=$?

stats=$dir/out/default/fuzzer_stats
stat() { sed -n "s/^$1 *: *//p" "$stats" 2>/dev/null | head -n 1; }
execs=$(stat execs_done) eps=$(stat execs_per_sec) corpus=$(stat corpus_count)
crashes=$(find "$dir/out/default/crashes" -type f ! -name README.txt 2>/dev/null | wc -l)
hangs=$(find "$dir/out/default/hangs" -type f 2>/dev/null | wc -l)
result=ok
if [ $rc -ne 0 ] || [ ! -s "$stats" ] || [ "${execs:-0}" -eq 0 ] || [ "$crashes" -gt 0 ] ||
	[ "$hangs" -gt 0 ]; then
	result=FAIL
	echo "afl.sh: $target failed (afl-fuzz exit $rc, ${execs:-0} execs, $crashes crashes, $hangs hangs over $timeout s); log: $dir/afl.log" >&2
	tail -n 15 "$dir/afl.log" >&2
	[ "$crashes" -gt 0 ] && ls -d "$dir"/out/default/crashes/id* >&2
	[ "$hangs" -gt 0 ] && ls -d "$dir"/out/default/hangs/id* >&2
fi
echo "AFL-SUMMARY target=$target seconds=$seconds execs=${execs:-0} exec_per_sec=${eps:-0}" \
	"corpus=${corpus:-0} crashes=$crashes hangs=$hangs result=$result"
[ $result = ok ] && exit 0
{ [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; } && exit $CLI_EXIT_FINDING
exit $CLI_EXIT_HARNESS
