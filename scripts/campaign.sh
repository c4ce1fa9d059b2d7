#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: installs what is missing, then runs a bounded campaign over
# every backend (fuzz, stress under TSan, benchmarks) and writes report/.
# See scripts/campaign.py --help for the flags.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
*" -h "* | *" --help "*) ;;
*) scripts/deps.sh ;;
esac
exec python3 scripts/campaign.py "$@"
