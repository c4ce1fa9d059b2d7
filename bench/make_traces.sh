#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates the committed compressed-size traces in bench/data/:
#   bench/make_traces.sh [--limit N] [--out DIR]
# Three sources any Debian machine has, each compressed with lz4, zstd -1
# and zstd -3 (nine traces): executables and libraries, text under
# /usr/share, and the anonymous memory of a child process trace_tool starts.
# Builds trace_tool in build/bench-traces (Release) first. Each trace's header
# records the command that made it; file contents depend on the machine's
# installed packages (and, for anon, on ASLR), so a rerun elsewhere gives
# similar, not identical, traces. --out (default bench/data) is taken from
# the caller's directory; the nine files are overwritten, nothing else is
# touched. Exit status (docs/exit-codes.md): 0 done, 2 usage, 3 failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init bench/make_traces.sh

limit=50000
out=$CLI_ROOT/bench/data
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--limit) cli_need_value "$1" $#; cli_uint limit "$1" "$2" 1 100000000; shift 2 ;;
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done
cd "$CLI_ROOT"
trap 'cli_fail "a step failed (line $LINENO)"' ERR

build=build/bench-traces
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZPOOL_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target trace_tool >/dev/null
tool="$build/bench/trace_tool"
mkdir -p "$out"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

run() {
	local prefix="$1"
	shift
	"$tool" "$1" --limit "$limit" --out "$out/$prefix" \
		--command "bench/make_traces.sh --limit $limit: trace_tool ${*}" "${@:2}"
}

# Executables and shared libraries, sampled evenly across both trees.
run exec files /usr/bin "/usr/lib/$arch"
# Text: Perl modules, Vim runtime, locale sources, package docs; files that
# are already compressed (.gz and friends) are left out.
run text files --skip-suffix .gz,.xz,.bz2,.zst,.png,.jpg \
	/usr/share/perl /usr/share/perl5 /usr/share/vim /usr/share/i18n /usr/share/doc
# A child of ours that builds a 256 MiB heap of typical program data.
run anon anon --mb 256

"$tool" check "$out"/*.trace
