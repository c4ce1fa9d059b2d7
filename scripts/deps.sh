#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian packages the harness needs when any is missing.
# Used by scripts/test.sh, scripts/campaign.sh and .ci/run, so a fresh
# Debian 12 machine needs nothing else.
set -euo pipefail

packages=(
	cmake ninja-build gcc g++ clang llvm libclang-rt-14-dev valgrind
	libcmocka-dev libbenchmark-dev libbenchmark-tools
	liblz4-dev libzstd-dev gnuplot-nox afl++ zip unzip jq python3 python3-scipy
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
