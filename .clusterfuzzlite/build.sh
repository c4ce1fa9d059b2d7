#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-only
# ClusterFuzzLite runs the same build as OSS-Fuzz (oss-fuzz/build.sh, which
# also answers --help and --version).
if [ -n "${SRC:-}" ]; then repo=$SRC/zpool-harness; else repo=$(dirname "$0")/..; fi
exec "$repo/oss-fuzz/build.sh" "$@"
