#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The test command: installs what is missing, then builds and runs ctest in
# every preset (gcc and clang under ASan+UBSan, TSan, libFuzzer, release).
# Any failing test or sanitizer report fails the run.
#   scripts/test.sh            all presets
#   scripts/test.sh default    only the named presets
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(default clang tsan fuzz release)
jobs=$(nproc)

for p in "${presets[@]}"; do
	echo "=== preset $p ==="
	cmake --preset "$p" >/dev/null
	cmake --build --preset "$p" -j "$jobs"
	ctest --preset "$p" -j "$jobs"
done
echo "=== all tests passed: ${presets[*]} ==="
