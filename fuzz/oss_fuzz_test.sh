#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# oss_fuzz_test.sh - run oss-fuzz/build.sh here as OSS-Fuzz would, check what
# lands in $OUT, and run each fuzzer from its seed zip for a few seconds.
#   fuzz/oss_fuzz_test.sh [SECONDS]     default 2 s a fuzzer
#
# Exit status (docs/exit-codes.md): 0 the build and runs passed, 1 a fuzzer
# found something, 2 usage, 3 the build failed or left something out.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/oss_fuzz_test.sh
root=$CLI_ROOT
secs=2
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	-*) cli_usage_error "unknown option '$1'" ;;
	*) cli_uint secs SECONDS "$1" 1 3600; shift ;;
	esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/work" "$tmp/out"
ln -s "$root" "$tmp/src/zpool-harness"
export CC=clang CXX=clang++ SRC=$tmp/src WORK=$tmp/work OUT=$tmp/out
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer
"$root/oss-fuzz/build.sh" || cli_fail "oss-fuzz/build.sh failed"
"$root/.clusterfuzzlite/build.sh" >/dev/null || # same build through the CFLite entry
	cli_fail ".clusterfuzzlite/build.sh failed"

for t in $("$root/fuzz/targets.sh"); do
	for f in "$t" "${t}_seed_corpus.zip" "$t.options"; do
		[ -s "$OUT/$f" ] || cli_fail "\$OUT/$f missing"
	done
	grep -qx 'timeout = [0-9]*' "$OUT/$t.options" ||
		{ echo "oss_fuzz_test: $t.options does not bound an input's time" >&2; exit 1; }
	n=$(unzip -Z1 "$OUT/${t}_seed_corpus.zip" | wc -l)
	[ "$n" -gt 0 ] || cli_fail "empty seed zip for $t"
	mkdir -p "$tmp/run/$t/new"
	unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$tmp/run/$t/seeds"
	# The options file's flags, as the fuzzing infrastructure passes them.
	mapfile -t opts < <(sed -n 's/^\([a-z_]*\) = \(.*\)$/-\1=\2/p' "$OUT/$t.options")
	(cd "$tmp/run/$t" && "$OUT/$t" -max_total_time="$secs" "${opts[@]}" \
		-artifact_prefix="$tmp/run/$t/" new seeds >log 2>&1) ||
		{ echo "oss_fuzz_test: $t failed:" >&2; tail -n 20 "$tmp/run/$t/log" >&2; exit 1; }
	echo "oss_fuzz_test: $t ok, $n seeds, $(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$tmp/run/$t/log" | tail -n 1)"
done
