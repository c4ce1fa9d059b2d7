#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# One command for the benchmark report: builds zpool_bench (Release, in
# build/bench-release), runs every benchmark with repetitions, and writes to
# the output directory:
#   bench.json               Google Benchmark JSON, every repetition
#   results.md               Markdown tables of the medians (bench/report.py)
#   threads.png shrink.png density.png   gnuplot plots of the same medians
#   compare-backends.txt     compare.py: each backend against the first
#   compare-builds.txt       compare.py: this build against --baseline JSON
#   shrink_cost.json .md     bench/shrink_cost.sh: instructions and simulated
#                            cache misses per reclaimed page (callgrind)
#
#   bench/run.sh [--quick|--full] [--out DIR] [--reps N] [--baseline OLD.json]
#                [--update-readme] [--no-shrink-cost]
# --quick: small pools, short runs (under a minute); --full (default): the
# report's profile (about 3 minutes on 2 CPUs). --reps defaults to 3. --baseline compares against bench.json of another
# build (e.g. run.sh --out /tmp/old on the old commit first).
# --update-readme splices results.md into bench/README.md. The full profile
# also runs bench/shrink_cost.sh (about a minute, needs valgrind) unless
# --no-shrink-cost; --quick never does. The output folder (default
# build/bench-report) must be new, empty or made by a zpool-harness tool
# (.zpool-harness-owned), else exit 2; relative paths are taken from the
# caller's directory. Exit status (docs/exit-codes.md): 0 done, 1 a
# benchmark failed, 2 usage, 3 a build or tool failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init bench/run.sh
invocation="bench/run.sh${*:+ $*}"

profile=full
out=$CLI_ROOT/build/bench-report
reps=3
baseline=""
update_readme=0
shrink_cost=1
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--quick) profile=quick; shift ;;
	--full) profile=full; shift ;;
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	--reps) cli_need_value "$1" $#; cli_uint reps "$1" "$2" 1 1000; shift 2 ;;
	--baseline) cli_need_value "$1" $#; baseline=$(cli_path "$2"); shift 2 ;;
	--update-readme) update_readme=1; shift ;;
	--no-shrink-cost) shrink_cost=0; shift ;;
	*) cli_usage_error "unknown argument '$1'" ;;
	esac
done
if [ -n "$baseline" ] && [ ! -r "$baseline" ]; then
	cli_usage_error "--baseline: cannot read '$baseline'"
fi
cli_own_dir "$out"
cd "$CLI_ROOT"
min_time=0.2
[ "$profile" = quick ] && min_time=0.01

build=build/bench-release
{ cmake --preset release -B "$build" >/dev/null && cmake --build "$build" --target zpool_bench >/dev/null; } ||
	cli_fail "building zpool_bench (release preset) in $build failed"

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
machine="${model:-unknown CPU}, $(nproc) CPUs, $(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 / 1024)) GiB, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"

echo "run.sh: $profile profile, $reps repetitions, on $machine" >&2
rc=0
"$build/bench/zpool_bench" --profile="$profile" --benchmark_min_time="$min_time" \
	--benchmark_repetitions="$reps" --benchmark_display_aggregates_only=true \
	--benchmark_out="$out/bench.json" --benchmark_out_format=json >&2 || rc=$?
case $rc in
0) ;;
1) echo "bench/run.sh: a backend failed during a benchmark (zpool_bench exit 1)" >&2; exit 1 ;;
*) cli_fail "zpool_bench exited $rc" ;;
esac
# From here on a failing step (report.py, gnuplot, compare.py) is the harness's.
trap 'cli_fail "a step failed (line $LINENO)"' ERR

cost_args=()
if [ "$profile" = full ] && [ "$shrink_cost" = 1 ]; then
	rc=0
	bench/shrink_cost.sh --out "$out" --bin "$build/bench/zpool_bench" || rc=$?
	case $rc in
	0) cost_args=(--shrink-cost "$out/shrink_cost.json") ;;
	77) echo "run.sh: no instruction counts in the report (valgrind missing)" >&2 ;;
	*) exit "$rc" ;;
	esac
fi

python3 bench/report.py "$out/bench.json" "$out" --machine "$machine" --command "$invocation" \
	--load-end "$(cut -d' ' -f1-3 /proc/loadavg)" "${cost_args[@]}"

# Plots: the .dat files report.py wrote, one PNG each.
density_cols=$(head -1 "$out/density.dat" | wc -w)
gnuplot <<EOF
set terminal pngcairo size 900,560 noenhanced
set grid
set key outside right
set output "$out/threads.png"
set title "Throughput against threads, one shared pool (Mops/s, wall time)"
set xlabel "threads"; set ylabel "Mops/s"
set xtics 1
plot for [i=0:*] "$out/threads.dat" index i using 1:2 with linespoints title columnheader(1)
set output "$out/shrink.png"
set title "zpool_shrink cost per reclaimed page against pool size"
set xlabel "pool pages"; set ylabel "ns per page"; set logscale x 2
set xtics auto
plot for [i=0:*] "$out/shrink.dat" index i using 1:2 with linespoints title columnheader(1)
unset logscale x
set output "$out/density.png"
set title "Pool bytes / ideal bytes (payload rounded up to pages); 1 = ideal"
set xlabel ""; set ylabel "pool / ideal"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set yrange [0:*]
plot for [c=2:$density_cols] "$out/density.dat" using c:xtic(1) title columnheader(c)
EOF
echo "run.sh: wrote $out/results.md and $out/{threads,shrink,density}.png" >&2

# compare.py needs SciPy (Debian python3-scipy) under the system python.
compare=$(dpkg -L libbenchmark-tools 2>/dev/null | grep '/compare\.py$' | head -1 || true)
if [ -z "$compare" ]; then
	echo "run.sh: compare.py not found (Debian libbenchmark-tools); skipping comparisons" >&2
elif ! /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
	echo "run.sh: compare.py needs Debian python3-scipy; skipping comparisons" >&2
else
	backends=$(python3 -c 'import json,sys
seen=[]
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    n=b["name"].split("/")[1]
    if n not in seen and not n.startswith("ref-"): seen.append(n)
print(" ".join(seen))' "$out/bench.json")
	first=${backends%% *}
	: >"$out/compare-backends.txt"
	for b in $backends; do
		[ "$b" = "$first" ] && continue
		/usr/bin/python3 "$compare" --no-color -a -d /dev/null filters "$out/bench.json" "/$first/" "/$b/" \
			>>"$out/compare-backends.txt"
	done
	echo "run.sh: wrote $out/compare-backends.txt" >&2
	if [ -n "$baseline" ]; then
		/usr/bin/python3 "$compare" --no-color -a -d /dev/null benchmarks "$baseline" "$out/bench.json" \
			>"$out/compare-builds.txt"
		echo "run.sh: wrote $out/compare-builds.txt" >&2
	fi
fi

if [ "$update_readme" = 1 ]; then
	python3 - "$out/results.md" bench/README.md <<'EOF'
import sys
res, readme = sys.argv[1], sys.argv[2]
text = open(readme).read()
begin, end = "<!-- results:begin -->\n", "<!-- results:end -->\n"
if begin not in text or end not in text:
    sys.exit("run.sh: %s has no results markers" % readme)
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(readme, "w").write(head + begin + open(res).read() + end + tail)
EOF
	echo "run.sh: updated bench/README.md" >&2
fi
