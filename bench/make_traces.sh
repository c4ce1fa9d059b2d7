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
# similar, not identical, traces.
set -euo pipefail
cd "$(dirname "$0")/.."

limit=50000
out=bench/data
while [ $# -gt 0 ]; do
	case "$1" in
	--limit) limit="${2:?--limit needs a number}"; shift 2 ;;
	--out) out="${2:?--out needs a directory}"; shift 2 ;;
	*) echo "make_traces.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

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
