#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job. Until the full campaign lands, it sets up the machine,
# builds the default preset and runs the unit tests against every backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
ctest --preset default -L unit
