#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job: runs a bounded campaign over every backend (fuzz, stress
# under TSan, benchmarks) and writes report/. scripts/campaign.sh --help
# lists the flags. The flags are checked first (python3 scripts/campaign.py
# --check-args), then the missing Debian packages are installed
# (scripts/deps.sh; ZPOOL_NO_DEPS=1 skips it), then the campaign runs.
set -euo pipefail
. "$(dirname "$0")/lib/cli.sh"
cli_init scripts/campaign.sh
command -v python3 >/dev/null || { cli_deps; command -v python3 >/dev/null || cli_fail "python3 is missing"; }
rc=0
python3 "$CLI_ROOT/scripts/campaign.py" --check-args "$@" || rc=$?
[ $rc -eq 0 ] || exit $rc
case " $* " in
*" -h "* | *" --help "* | *" --version "*) exit 0 ;;
esac
cli_deps
exec python3 "$CLI_ROOT/scripts/campaign.py" "$@"
