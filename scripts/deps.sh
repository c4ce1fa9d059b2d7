#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# deps.sh - install the Debian packages the harness needs when any is missing.
#
#   scripts/deps.sh [--list]
#
# scripts/test.sh, scripts/campaign.sh and .ci/run call it after parsing
# their flags, so a fresh Debian 12 machine needs nothing else. --list
# prints the packages and exits. Set ZPOOL_NO_DEPS=1 to manage packages
# yourself: the tools then never call it. On a system without dpkg and
# apt-get it names the packages and exits 3.
# Exit status: 0 all installed, 2 usage, 3 installing failed.
set -euo pipefail
. "$(dirname "$0")/lib/cli.sh"
cli_init scripts/deps.sh

packages=(
	cmake ninja-build gcc g++ clang llvm libclang-rt-14-dev valgrind
	libcmocka-dev libbenchmark-dev libbenchmark-tools
	liblz4-dev libzstd-dev gnuplot-nox afl++ zip unzip jq python3 python3-scipy
	libjemalloc-dev libmimalloc-dev
)

while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--list) printf '%s\n' "${packages[@]}"; exit 0 ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	cli_fail "this is not a Debian system (no dpkg-query/apt-get): install the equivalents of" \
		"${packages[*]} yourself, then run with ZPOOL_NO_DEPS=1"
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]} (ZPOOL_NO_DEPS=1 skips this)" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || cli_fail "apt-get update failed"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
	cli_fail "apt-get install ${missing[*]} failed"
