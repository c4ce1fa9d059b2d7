#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# targets_test.sh - fuzz/targets.txt is the one list of fuzz targets.
#
# Fails when a fuzz target exists that is not listed (a fuzz/*.c defining
# LLVMFuzzerTestOneInput, a corpus/<name>/ or corpus/regressions/<name>/
# folder), when a listed target has no source or no corpus, when a scope
# names a backend that backends/backends.def does not register, or when a
# script or build file outside the list writes two or more targets on one
# line: a copy of the list, which goes stale when a target is added (naming
# one target, as a default or a test's subject, is fine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail=0
err() { echo "targets_test: $*" >&2; fail=1; }

listed=$(fuzz/targets.sh | sort)
[ -n "$listed" ] || err "fuzz/targets.txt lists no target"
backends=$(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' backends/backends.def)

# What exists: sources with a fuzz entry point, corpus folders.
sources=$(grep -l '^int LLVMFuzzerTestOneInput(.*)$' fuzz/*.c | xargs -n1 basename | sed 's/\.c$//' | sort)
corpora=$(find corpus -mindepth 1 -maxdepth 1 -type d ! -name regressions ! -name traces -printf '%f\n' | sort)
regressions=$(find corpus/regressions -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort)
for t in $sources $corpora $regressions; do
	grep -qx "$t" <<<"$listed" || err "$t exists (fuzz/$t.c or corpus/) but is not in fuzz/targets.txt"
done
for t in $listed; do
	grep -qx "$t" <<<"$sources" || err "$t is listed but fuzz/$t.c has no LLVMFuzzerTestOneInput"
	[ -n "$(ls -A "corpus/$t" 2>/dev/null)" ] || err "$t is listed but corpus/$t/ is empty or missing"
done
while read -r t scope; do
	case "$scope" in
	each) ;;
	*) grep -qx "${scope#vs-}" <<<"$backends" ||
		err "$t: scope '$scope' is neither each, vs-<backend> nor a backend of backends.def" ;;
	esac
done < <(fuzz/targets.sh --scope)

# Nobody else keeps a copy of the list. Docs and the corpus may name
# targets; scripts and build files read targets.txt.
pattern=$(paste -sd'|' <<<"$listed")
copies=$(git ls-files -- '*.sh' '*.py' '*.txt' '*.cmake' '*.yaml' '*.json' '*.options' \
	'oss-fuzz/*' '.clusterfuzzlite/*' '.ci/*' | grep -v -e '^fuzz/targets.txt$' -e '^corpus/' |
	while read -r f; do
		[ -f "$f" ] || continue
		{ grep -nowE "$pattern" "$f" || true; } | sort -u | awk -F: -v f="$f" '{ n[$1]++ } END { for (l in n) if (n[l] > 1) print f ":" l }'
	done)
if [ -n "$copies" ]; then
	err "these lines write out several targets; read fuzz/targets.txt (fuzz/targets.sh) instead:"
	echo "$copies" | sed 's/^/  /' >&2
fi

[ $fail = 0 ] && echo "targets_test: $(wc -w <<<"$listed") targets, one list: ok"
exit $fail
