#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# counter_mutants.sh - show that the fuzz model checks every counter of
# zpool_get_stats(): delete each update of a counter, one at a time, in a
# scratch copy of the tree, and replay the seed corpora (and regressions) of
# every fuzz target; each mutant must make a replay fail.
#
#   fuzz/counter_mutants.sh [--build DIR] [--keep]
#
#   --build DIR  scratch folder (default: a new temporary one, removed at
#                the end unless --keep)
#
# The updates are found by their text (the table below), not by line
# number; every occurrence of a text is deleted (a statement becomes
# "(void)0;" or what the table says, a peak's compare-and-swap loop
# "while (0 && ..."). A text that
# is no longer in its file is an error: the table must follow the code.
# The copy is built without sanitizers (Debug, so debug checks stay on).
# Prints one line per mutant:
#   MUTANT counter=C file=F caught_by=T|MISSED first="message"
# A --build folder must be new, empty or made by a zpool-harness tool
# (.zpool-harness-owned). Exit status (docs/exit-codes.md): 0 when every
# mutant was caught, 1 otherwise, 2 on bad usage.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init fuzz/counter_mutants.sh
root=$CLI_ROOT
build= keep=0
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--build) cli_need_value "$1" $#; build=$(cli_path "$2"); shift 2 ;;
	--keep) keep=1; shift ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done
[ -z "$build" ] || cli_own_dir "$build"

# counter|file|text of the update[|what replaces it, default (void)0;]
mutants() {
	cat <<'EOF_'
allocs+objects (alloc)|zpool/zpool.c|atomic_fetch_add_explicit(&zp->allocs, 1, memory_order_release);
objects (free)|zpool/zpool.c|atomic_fetch_add_explicit(&zp->frees, 1, memory_order_release);
alloc_enomem|zpool/zpool.c|counter_inc(&zp->alloc_enomem);
shrink_calls|zpool/zpool.c|counter_inc(&zp->shrink_calls);
shrink_eagain|zpool/zpool.c|counter_inc(&zp->shrink_eagain);
pages_reclaimed|zpool/zpool.c|atomic_fetch_add_explicit(&zp->pages_reclaimed, done, memory_order_relaxed);
evictions+evict_failures|zpool/zpool.c|counter_inc(ret == 0 ? &zp->evictions : &zp->evict_failures);
compactions|zpool/zpool.c|counter_inc(&zp->compactions);
pages_compacted|zpool/zpool.c|atomic_fetch_add_explicit(&zp->pages_compacted, freed, memory_order_relaxed);
peak_pages (arena)|zpool/arena.c|while (used > peak &&
page_allocs (arena)|zpool/arena.c|atomic_fetch_add_explicit(&a->allocs, 1, memory_order_relaxed);
page_alloc_failures (arena)|zpool/arena.c|atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
injected_failures (arena)|zpool/arena.c|atomic_fetch_add_explicit(&a->injected, 1, memory_order_relaxed);
pages (zbud, up)|backends/zbud/zbud.c|pages_nr_add(pool, 1);
pages (zbud, down)|backends/zbud/zbud.c|pages_nr_add(pool, -1);
pages (z3fold, up)|backends/z3fold/z3fold.c|atomic_fetch_add(&pool->pages_nr, 1);
pages (z3fold, down)|backends/z3fold/z3fold.c|atomic_fetch_sub(&pool->pages_nr, 1);
pages (zsmalloc, up)|backends/zsmalloc/zsmalloc.c|atomic_fetch_add(&pool->pages_nr, c->pages_per_zspage);
pages (zsmalloc, down)|backends/zsmalloc/zsmalloc.c|atomic_fetch_sub(&pool->pages_nr, pages);
peak_pages (malloc)|backends/malloc/malloc.c|while (total > peak &&
total_size (malloc, free)|backends/malloc/malloc.c|atomic_fetch_sub_explicit(&pool->total, obj->bytes, memory_order_relaxed);|(void)pool;
page_allocs (malloc)|backends/malloc/malloc.c|atomic_fetch_add_explicit(&pool->allocs, 1, memory_order_relaxed);
page_alloc_failures (malloc)|backends/malloc/malloc.c|atomic_fetch_add_explicit(&pool->failures, 1, memory_order_relaxed);
injected_failures (malloc)|backends/malloc/malloc.c|atomic_fetch_add_explicit(&pool->injected, 1, memory_order_relaxed);
EOF_
}

if [ -z "$build" ]; then
	build=$(mktemp -d)
	[ $keep = 1 ] || trap 'rm -rf "$build"' EXIT
fi
src=$build/src
mkdir -p "$src"
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$src" 2>/dev/null || true)
cmake -S "$src" -B "$build/b" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZPOOL_SANITIZE= >/dev/null
mapfile -t targets < <("$src/fuzz/targets.sh")
cmake --build "$build/b" --target "${targets[@]}" >/dev/null

missed=0
while IFS='|' read -r counter file text with; do
	f=$src/$file
	cp "$f" "$build/orig"
	python3 - "$f" "$text" "${with:-(void)0;}" <<'PY' || { echo "counter_mutants.sh: '$text' not in $file" >&2; exit 1; }
import sys
path, text, repl = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(path).read()
if text not in s:
    sys.exit(1)
if text.startswith("while ("):
    s = s.replace(text, "while (0 && " + text[len("while ("):])
else:
    s = s.replace(text, repl)
open(path, "w").write(s)
PY
	if ! cmake --build "$build/b" --target "${targets[@]}" >"$build/build.log" 2>&1; then
		cp "$build/orig" "$f"
		echo "counter_mutants.sh: the mutant of $counter does not build:" >&2
		tail -n 5 "$build/build.log" >&2
		exit 1
	fi
	cp "$build/orig" "$f"
	by= first=
	for t in "${targets[@]}"; do
		# Through sh, so that the shell does not report each abort().
		if ! sh -c '"$0" "$@"; exit $?' "$build/b/fuzz/$t" "$src/corpus/$t" \
			"$src/corpus/regressions/$t" >"$build/log" 2>&1; then
			by=$t
			first=$(grep -m1 -E 'FUZZ MISMATCH|zpool BUG|ERROR' "$build/log" | cut -c1-120 || true)
			break
		fi
	done
	[ -n "$by" ] || missed=1
	echo "MUTANT counter=\"$counter\" file=$file caught_by=${by:-MISSED}${first:+ first=\"$first\"}"
done < <(mutants)
cmake --build "$build/b" --target "${targets[@]}" >/dev/null
exit $missed
