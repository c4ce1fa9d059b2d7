#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# targets.sh - print the fuzz targets of fuzz/targets.txt, one a line, for
# the shell scripts (which source nothing else to know them).
#
#   fuzz/targets.sh [--scope | --harness]
#
#   --scope    print "name scope" (each, vs-<backend> or a backend) per line
#   --harness  print the sources of the harness library the targets link:
#              every fuzz/*.c that is neither a target nor replay_main.c
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/targets.sh
dir=$(cd "$(dirname "$0")" && pwd)
list=$dir/targets.txt
case "${1:-}" in
"") awk '!/^#/ && NF { print $1 }' "$list" ;;
--scope) awk '!/^#/ && NF { print $1, $2 }' "$list" ;;
--harness)
	targets=$(awk '!/^#/ && NF { print $1 ".c" }' "$list")
	for f in "$dir"/*.c; do
		b=$(basename "$f")
		[ "$b" = replay_main.c ] || grep -qx "$b" <<<"$targets" || echo "$f"
	done ;;
-h | --help | --version) cli_common_flag "$1" ;;
*) cli_usage_error "unknown option '$1'" ;;
esac
