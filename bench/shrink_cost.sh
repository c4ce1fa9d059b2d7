#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shrink_cost.sh - instructions and simulated cache misses per reclaimed
# page, counted by callgrind inside zpool_shrink(), for every backend and
# pool size.
#
# Wall time per page depends on the load of the machine and on where the
# cold LRU tail sits in the memory hierarchy; the instruction count is the
# algorithmic cost and is the same on every run. For each backend and pool
# size, `zpool_bench --shrink_cost=BACKEND:PAGES` fills a pool and makes
# --calls zpool_shrink() calls with the shrink benchmark's refill between
# them, under `valgrind --tool=callgrind --toggle-collect=zpool_shrink`, so
# only what runs inside zpool_shrink() (the backend and the evict callback
# it calls) is counted. Each pair is run twice, with callgrind's last-level
# cache set to this CPU's L2 and then to its L3 (callgrind models two
# levels only, and guesses wrong on this machine's CPU otherwise), giving
# misses per page at both levels. TLB misses are not simulated.
#
#   bench/shrink_cost.sh [--out DIR] [--pages "1024 4096 ..."] [--calls N]
#                        [--bin ZPOOL_BENCH]
# --out (default build/bench-report): writes shrink_cost.json and
# shrink_cost.md there. --bin: an already built zpool_bench (no sanitizer);
# by default the release build in build/bench-release is made.
# The output folder must be new, empty or made by a zpool-harness tool
# (.zpool-harness-owned), else exit 2; relative paths are taken from the
# caller's directory. Exit status (docs/exit-codes.md): 0 done, 2 usage,
# 3 a build, valgrind or parse step failed; 77 (ctest's skip) when valgrind
# is not installed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init bench/shrink_cost.sh

out=$CLI_ROOT/build/bench-report
pages="1024 4096 16384 65536"
calls=64
bin=""
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	--pages) cli_need_value "$1" $#; pages=$2; shift 2 ;;
	--calls) cli_need_value "$1" $#; cli_uint calls "$1" "$2" 1 1000000; shift 2 ;;
	--bin) cli_need_value "$1" $#; bin=$(cli_path "$2"); shift 2 ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done
list=()
for p in $pages; do
	cli_uint n --pages "$p" 64 4194304
	list+=("$n")
done
[ ${#list[@]} -gt 0 ] || cli_usage_error "--pages: empty list"
pages="${list[*]}"
if ! command -v valgrind >/dev/null; then
	echo "shrink_cost.sh: SKIP: valgrind is not installed (Debian package valgrind)" >&2
	exit 77
fi
[ -z "$bin" ] || [ -x "$bin" ] || cli_usage_error "--bin: '$bin' is not executable"
cli_own_dir "$out"
cd "$CLI_ROOT"
trap 'cli_fail "a step failed (line $LINENO)"' ERR
if [ -z "$bin" ]; then
	build=build/bench-release
	cmake --preset release -B "$build" >/dev/null
	cmake --build "$build" --target zpool_bench >/dev/null
	bin="$build/bench/zpool_bench"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Cache geometry from sysfs: "size,ways,line" as valgrind's --D1/--LL take.
cache_of() { # level type
	local d
	for d in /sys/devices/system/cpu/cpu0/cache/index*; do
		[ "$(cat "$d/level")" = "$1" ] || continue
		case "$(cat "$d/type")" in "$2"|Unified) ;; *) continue ;; esac
		local size
		size=$(cat "$d/size")
		size=${size%K}
		echo "$((size * 1024)),$(cat "$d/ways_of_associativity"),$(cat "$d/coherency_line_size")"
		return
	done
}
d1=$(cache_of 1 Data)
i1=$(cache_of 1 Instruction)
l2=$(cache_of 2 Unified)
l3=$(cache_of 3 Unified)
if [ -z "$d1" ] || [ -z "$i1" ] || [ -z "$l2" ] || [ -z "$l3" ]; then
	cli_fail "cannot read the L1d/L2/L3 geometry from sysfs"
fi
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
echo "shrink_cost.sh: D1 $d1, L2 $l2, L3 $l3 (size,ways,line); load average $loadavg" >&2

backends=$("$bin" --list_backends)
for b in $backends; do
	for p in $pages; do
		for level in L2 L3; do
			ll=$l2
			[ $level = L3 ] && ll=$l3
			tag="$b-$p-$level"
			t0=$(date +%s.%N)
			nice valgrind --tool=callgrind --toggle-collect=zpool_shrink \
				--cache-sim=yes --D1="$d1" --I1="$i1" --LL="$ll" \
				--callgrind-out-file="$work/$tag.cg" \
				"$bin" --shrink_cost="$b:$p" --shrink_calls="$calls" \
				>"$work/$tag.json" 2>"$work/$tag.log" || {
				echo "shrink_cost.sh: $tag failed:" >&2
				cat "$work/$tag.log" >&2
				exit 3
			}
			t1=$(date +%s.%N)
			echo "shrink_cost.sh: $b, $p pages, LL=$level: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" >&2
		done
	done
done

python3 - "$work" "$out" "$loadavg" "$d1" "$l2" "$l3" "$calls" "$backends" "$pages" <<'EOF'
import json, os, sys
work, out, loadavg, d1, l2, l3, calls = sys.argv[1:8]
backends, pages = sys.argv[8].split(), [int(p) for p in sys.argv[9].split()]

def counts(path):
    """Event name -> total collected inside zpool_shrink()."""
    ev = tot = None
    for line in open(path):
        if line.startswith("events:"):
            ev = line.split()[1:]
        elif line.startswith("totals:"):
            tot = [int(x) for x in line.split()[1:]]
    if ev is None or tot is None:
        sys.exit("shrink_cost.sh: %s: no events/totals lines" % path)
    tot += [0] * (len(ev) - len(tot))
    return dict(zip(ev, tot))

rows = []
for b in backends:
    for p in pages:
        run = json.load(open(os.path.join(work, "%s-%d-L2.json" % (b, p))))
        c2 = counts(os.path.join(work, "%s-%d-L2.cg" % (b, p)))
        c3 = counts(os.path.join(work, "%s-%d-L3.cg" % (b, p)))
        if c2["Ir"] != c3["Ir"]:
            sys.exit("shrink_cost.sh: %s %d: Ir differs between two runs (%d, %d)"
                     % (b, p, c2["Ir"], c3["Ir"]))
        n = run["reclaimed"]
        if n <= 0:
            sys.exit("shrink_cost.sh: %s %d: nothing reclaimed" % (b, p))
        rows.append(dict(run, ir=c3["Ir"],
                         ir_per_page=c3["Ir"] / n,
                         evictions_per_page=run["evictions"] / n,
                         d1_misses_per_page=(c3["D1mr"] + c3["D1mw"]) / n,
                         l2_misses_per_page=(c2["DLmr"] + c2["DLmw"]) / n,
                         l3_misses_per_page=(c3["DLmr"] + c3["DLmw"]) / n))

doc = {"tool": "valgrind --tool=callgrind --toggle-collect=zpool_shrink --cache-sim=yes",
       "load_average": loadavg, "calls": int(calls),
       "caches": {"D1": d1, "L2": l2, "L3": l3, "format": "bytes,ways,line"},
       "runs": rows}
with open(os.path.join(out, "shrink_cost.json"), "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")

def g(v):
    return "%.3g" % v if v else "0"

md = ["Counted by callgrind inside `zpool_shrink()` (evict callback included), "
      "%s calls per run; simulated caches D1 %s, L2 %s, L3 %s (bytes,ways,line, "
      "from sysfs); load average %s (does not change these counts).\n\n"
      % (calls, d1, l2, l3, loadavg),
      "| backend | pool pages | pages reclaimed | objects evicted / page | "
      "instructions / page | D1 misses / page | L2 misses / page | L3 misses / page |\n",
      "|---|---|---|---|---|---|---|---|\n"]
for r in rows:
    md.append("| %s | %d | %d | %s | %s | %s | %s | %s |\n" % (
        r["backend"], r["pool_pages"], r["reclaimed"], g(r["evictions_per_page"]),
        "%.0f" % r["ir_per_page"], g(r["d1_misses_per_page"]),
        g(r["l2_misses_per_page"]), g(r["l3_misses_per_page"])))
with open(os.path.join(out, "shrink_cost.md"), "w") as f:
    f.write("".join(md))
EOF
echo "shrink_cost.sh: wrote $out/shrink_cost.json and $out/shrink_cost.md" >&2
