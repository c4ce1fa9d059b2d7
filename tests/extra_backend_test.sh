#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# extra_backend_test.sh - examples/onepage run the way a user runs a backend of
# their own: configured from outside the tree with ZPOOL_EXTRA_BACKENDS, then
# held to the contract tests (every registered backend), a stress run with
# fault injection, and the ops fuzzer's corpus pinned to it, under the
# sanitizers of the calling preset; and folders that hold no backend are
# refused at configure time.
#
#   tests/extra_backend_test.sh SOURCE_DIR WORK_DIR C_COMPILER SANITIZE BUILD_TYPE
#
# Exit status: 0 all passed, 1 a test failed, 2 usage, 3 configure or build failed.
set -euo pipefail
[ $# -eq 5 ] || { sed -n 's/^#   /usage: /p' "$0" >&2; exit 2; }
src=$1 work=$2 cc=$3 san=$4 type=$5
example=$src/examples/onepage
mkdir -p "$work"
log=$work/build.log

cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DCMAKE_C_COMPILER="$cc" \
	-DZPOOL_SANITIZE="$san" -DZPOOL_EXTRA_BACKENDS="$example" >"$log" 2>&1 ||
	{ echo "extra_backend_test: configure failed, see $log" >&2; exit 3; }
# The build writes the full list for the scripts: the example is in it.
grep -qxF "onepage	$example" "$work/build/zpool-backends.txt" ||
	{ echo "extra_backend_test: zpool-backends.txt does not list onepage" >&2; exit 1; }
cmake --build "$work/build" -j 2 --target test_contract zpool_stress zpool_ops_fuzzer >>"$log" 2>&1 ||
	{ echo "extra_backend_test: build failed, see $log" >&2; exit 3; }

echo "== contract tests (every backend, onepage among them)"
"$work/build/tests/test_contract" >"$work/contract.log" 2>&1 ||
	{ tail -n 30 "$work/contract.log"; exit 1; }
echo "== stress: onepage, fault injection on"
"$work/build/stress/zpool_stress" --backend onepage --threads 4 --reclaimers 2 --slots 256 \
	--max-pages 48 --fail-page-alloc 0.02 --fail-evict 0.2 --seed 1 --seconds 3 | tail -n 3
echo "== fuzz corpus replayed on onepage"
ZPOOL_FUZZ_BACKEND=onepage "$work/build/fuzz/zpool_ops_fuzzer" -runs=0 -timeout=10 \
	"$src/corpus/zpool_ops_fuzzer" 2>&1 | tail -n 2
echo "== folders that hold no backend are refused when configuring"
refused() { # refused WHAT MESSAGE FOLDERS: configure must fail saying MESSAGE
	rm -rf "$work/refused"
	if cmake -S "$src" -B "$work/refused" -G Ninja -DZPOOL_EXTRA_BACKENDS="$3" \
		>"$work/refused.log" 2>&1; then
		echo "extra_backend_test: $1 was accepted" >&2
		exit 1
	fi
	# CMake wraps its messages: match on the log as one line.
	tr -s ' \n' '  ' <"$work/refused.log" | grep -qF "$2" ||
		{ echo "extra_backend_test: $1: no '$2' in $work/refused.log" >&2; exit 1; }
}
mkdir -p "$work/empty-folder"
refused "a folder without .c files" "has no .c file" "$work/empty-folder"
refused "a missing folder" "is not a folder" "$work/no-such-folder"
refused "the same backend twice" "registered twice" "$example;$example"
echo "extra_backend_test: onepage passed"
