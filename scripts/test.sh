#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh - the test command: builds and runs ctest in every CMake preset
# (gcc and clang under ASan+UBSan, TSan, libFuzzer, release).
#
#   scripts/test.sh [--extra-backend DIR]... [PRESET...]
#                                   presets by default: default clang tsan fuzz release
#
# --extra-backend DIR builds an out-of-tree backend folder into every preset
# (docs/backend-contract.md), so that every test runs on it too; the
# environment variable ZPOOL_EXTRA_BACKENDS (folders separated by ';') does
# the same. Without either, the presets hold the in-tree backends only.
#
# Installs the Debian packages that are missing first (scripts/deps.sh;
# ZPOOL_NO_DEPS=1 skips it). Any failing test or sanitizer report fails the
# run. Exit status (docs/exit-codes.md): 0 all passed, 1 a test failed,
# 2 usage (an unknown preset), 3 a configure or build step failed,
# 130 interrupted.
set -euo pipefail
. "$(dirname "$0")/lib/cli.sh"
cli_init scripts/test.sh
cd "$CLI_ROOT"

known=(default clang tsan fuzz release)
presets=()
extra=()
[ -z "${ZPOOL_EXTRA_BACKENDS:-}" ] || IFS=';' read -r -a extra <<<"$ZPOOL_EXTRA_BACKENDS"
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--extra-backend)
		cli_need_value "$1" $#
		dir=$(cli_path "$2")
		[ -d "$dir" ] || cli_usage_error "--extra-backend: '$2' is not a folder"
		extra+=("$dir")
		shift ;;
	-*) cli_usage_error "unknown option '$1'" ;;
	*)
		[[ " ${known[*]} " == *" $1 "* ]] ||
			cli_usage_error "unknown preset '$1' (presets: ${known[*]})"
		presets+=("$1") ;;
	esac
	shift
done
[ ${#presets[@]} -gt 0 ] || presets=("${known[@]}")
cli_deps
jobs=$(nproc)
# Exported, so that the builds the tests make themselves see the folders too.
ZPOOL_EXTRA_BACKENDS=$(IFS=';'; echo "${extra[*]}")
export ZPOOL_EXTRA_BACKENDS
[ -z "$ZPOOL_EXTRA_BACKENDS" ] || echo "extra backends: $ZPOOL_EXTRA_BACKENDS"

for p in "${presets[@]}"; do
	echo "=== preset $p ==="
	cmake --preset "$p" -DZPOOL_EXTRA_BACKENDS="$ZPOOL_EXTRA_BACKENDS" >/dev/null ||
		cli_fail "configuring preset $p failed"
	cmake --build --preset "$p" -j "$jobs" || cli_fail "building preset $p failed"
	ctest --preset "$p" -j "$jobs" || { echo "scripts/test.sh: tests of preset $p failed" >&2; exit 1; }
done
echo "=== all tests passed: ${presets[*]} ==="
