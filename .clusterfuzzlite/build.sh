#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0-only
# ClusterFuzzLite runs the same build as OSS-Fuzz.
exec "$SRC/zpool-harness/oss-fuzz/build.sh"
