#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# zoo/run.sh - build each injected bug and find out which detector catches it
#
# Every bug in zoo/bugs.tsv is an ordinary `if (ZPOOL_BUG(name))` branch in
# a backend or the arena (zpool/zoo.h): each build compiles every mutant's
# code, and -DZPOOL_BUG=<name> turns one on. For each bug this script builds a mutant (the fuzz
# preset: libFuzzer, ASan+UBSan, which also builds the unit tests and the
# stress harness under ASan; and the tsan preset for the stress harness),
# runs every detector against it, each on its own clock and within the
# budget: the unit tests, each fuzz target from its seed corpus, and the
# stress harness under ASan and under TSan. A detector catches the bug when
# it fails (a check, a sanitizer report, a crash) or hangs: a fuzz input
# over --hang-seconds (libFuzzer -timeout), a stress run whose watchdog
# saw no progress for --hang-seconds, or any detector still running at the
# end of its own clock (killed). A hang is reported as such ("hang"). The
# bug's entry names the detector that caught it soonest and after how many
# seconds (builds are not counted); caught by none, it is MISSED. Bugs run
# in parallel, one per job.
#
# Results: <out>/results.json (a list of {bug, caught, detector, seconds,
# what, caught_by: {detector: seconds}, hangs: [detector...], command}),
# <out>/results.md, and a log per bug and detector in <out>/logs/.
#
#   zoo/run.sh [--jobs N] [--budget SECONDS] [--hang-seconds S] [--out DIR] [--readme] [--report-only] [--detectors REGEX] [bug...]
#
# --budget is per detector (default 60); each detector's clock is the
# budget + 10 s (test_contract alone takes 15 s in the fuzz build on an idle
# machine, so the unit tests get no shorter clock). --hang-seconds is the hang limit of
# the fuzzers and the stress watchdog (default 5; a fuzz input runs in
# milliseconds). --readme puts the table into README.md between the zoo
# markers: the rows of the bugs run replace theirs, the others stay, and
# the line above the table names the command behind each row.
# --report-only runs nothing: it makes the table again from the results
# already in DIR. --detectors runs only the detectors whose whole name
# (unit/zbud, fuzz/zpool_ops_fuzzer, stress/asan...) matches the extended
# regular expression, e.g. 'fuzz/.*' to time the fuzz targets alone on
# chosen bugs; the table then shows only those (and is not for --readme).
# The clean code is run too, as a control: a detector that fails on it makes
# the run fail.
# --out (default build/zoo) is taken from the caller's directory and must
# be new, empty or made by a zpool-harness tool (.zpool-harness-owned).
# Exit status (docs/exit-codes.md): 0 when every bug run was caught, 1 when
# one was missed (a hole in the harness's detectors: its finding), 2 on bad
# usage, 3 when a detector failed on the clean code (the detectors prove
# nothing then) or a build failed.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init zoo/run.sh

jobs=$(nproc)
budget=60
hang=5
out=$CLI_ROOT/build/zoo
readme=0
report_only=0
only=
bugs=()
while [ $# -gt 0 ]; do
	cli_common_flag "$1" || case "$1" in
	--jobs) cli_need_value "$1" $#; cli_uint jobs "$1" "$2" 1 1024; shift 2 ;;
	--budget) cli_need_value "$1" $#; cli_uint budget "$1" "$2" 1 86400; shift 2 ;;
	--hang-seconds) cli_need_value "$1" $#; cli_uint hang "$1" "$2" 1 3600; shift 2 ;;
	--out) cli_need_value "$1" $#; out=$(cli_path "$2"); shift 2 ;;
	--readme) readme=1; shift ;;
	--report-only) report_only=1; shift ;;
	--detectors) cli_need_value "$1" $#; only=$2; shift 2 ;;
	-*) cli_usage_error "unknown option '$1'" ;;
	*) bugs+=("$1"); shift ;;
	esac
done
[ -z "$only" ] || [ "$readme" = 0 ] || cli_usage_error "--readme needs every detector; drop --detectors"
cd "$CLI_ROOT"
top=$PWD

known=$(grep -v '^#' zoo/bugs.tsv | cut -f1)
if [ ${#bugs[@]} -eq 0 ]; then
	mapfile -t bugs <<<"$known"
fi
for b in "${bugs[@]}"; do
	grep -qx "$b" <<<"$known" || cli_usage_error "unknown bug '$b' (see zoo/bugs.tsv)"
done

cli_own_dir "$out"
mkdir -p "$out/logs" "$out/results"
out=$(cd "$out" && pwd)
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66"

# build_mutant BUG: the two builds of one mutant; prints nothing on success.
build_mutant() {
	local bug=$1 log=$out/logs/$1.build.log
	{
		cmake --preset fuzz -B "$out/build/$bug/fuzz" -DZPOOL_BUG="${bug#clean}" &&
			cmake --build "$out/build/$bug/fuzz" -j 1 --target \
				test_contract test_zbud test_z3fold test_zsmalloc test_arena \
				$(fuzz/targets.sh) zpool_stress &&
			{ ! grep -qE -- "^(${only:-.*})$" <<<stress/tsan ||
				{ cmake --preset tsan -B "$out/build/$bug/tsan" -DZPOOL_BUG="${bug#clean}" &&
					cmake --build "$out/build/$bug/tsan" -j 1 --target zpool_stress; }; }
	} >"$log" 2>&1
}

# find_bin DIR NAME: the path of an executable built in DIR.
find_bin() {
	find "$1" -type f -name "$2" -perm -u+x -print -quit
}

# The detectors: "name|clock|command". $F and $T are the two build folders,
# $W a scratch folder, $S the budget and $H the hang limit in seconds, $B
# the backend the stress harness races (bug_backend). The clock is the
# detector's own: still running at its end, it is killed and counted as
# having caught a hang.
detectors() {
	cat <<'EOF'
unit/arena|$((S + 10))|$(find_bin $F test_arena)
unit/zbud|$((S + 10))|$(find_bin $F test_zbud)
unit/z3fold|$((S + 10))|$(find_bin $F test_z3fold)
unit/zsmalloc|$((S + 10))|$(find_bin $F test_zsmalloc)
unit/contract|$((S + 10))|$(find_bin $F test_contract)
EOF
	# Every fuzz target of fuzz/targets.txt.
	"$top/fuzz/targets.sh" | sed 's,.*,fuzz/&|$((S + 10))|run_fuzzer &,'
	cat <<'EOF'
stress/asan|$((S + 10))|$(find_bin $F zpool_stress) --backend $B --threads 4 --reclaimers 2 --slots 256 --max-pages 48 --fail-page-alloc 0.02 --fail-evict 0.2 --seed 1 --seconds $(cap 15) --hang-seconds $H
stress/tsan|$((S + 10))|$(find_bin $T zpool_stress) --backend $B --threads 4 --reclaimers 2 --slots 256 --max-pages 48 --fail-page-alloc 0.02 --fail-evict 0.2 --seed 1 --seconds $(cap 15) --hang-seconds $H
EOF
}

# bug_backend BUG: the backend whose folder holds the bug's ZPOOL_BUG(),
# zbud for the clean code and for bugs outside backends/ (the arena's).
bug_backend() {
	local f
	f=$(grep -l "ZPOOL_BUG($1)" backends/*/*.c 2>/dev/null | head -n 1)
	if [ -n "$f" ]; then basename "$(dirname "$f")"; else echo zbud; fi
}

# cap N: N, or the budget if smaller.
cap() {
	local n=$1
	[ "$S" -lt "$n" ] && n=$S
	echo "$n"
}

# run_fuzzer NAME: fuzz from a copy of the seed corpus until a finding or
# 20 s (or the budget) are up.
run_fuzzer() {
	local t=$1 bin
	bin=$(find_bin "$F" "$t")
	rm -rf "$W/$t" && mkdir -p "$W/$t/corpus" "$W/$t/artifacts"
	cp -r "$top/corpus/$t/." "$W/$t/corpus/"
	local dict=()
	[ -s "$top/fuzz/$t.dict" ] && dict=(-dict="$top/fuzz/$t.dict")
	"$bin" -max_total_time="$(cap 20)" -timeout="$H" -max_len=4096 "${dict[@]}" \
		-artifact_prefix="$W/$t/artifacts/" "$W/$t/corpus"
}

# run_detector BUG NAME CLOCK CMD: run one detector on its own clock of
# CLOCK seconds; prints "seconds fail" or "seconds hang" when it caught the
# bug, nothing when it did not.
run_detector() {
	local bug=$1 det=$2 clock=$3 cmd=$4 start rc=0 how=fail
	local log=$out/logs/$bug.${det//\//_}.log
	start=$(date +%s.%N)
	timeout -k 5 "$clock" bash -c 'eval "$1"' _ "$cmd" >"$log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || return 0
	# 124: killed at the end of its clock (137: it needed the KILL).
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		how=hang
		echo "zoo: killed at the end of its clock of $clock s: a hang" >>"$log"
	elif grep -qE 'ERROR: libFuzzer: timeout|verdict: hang' "$log"; then
		how=hang
	fi
	awk -v s="$start" -v n="$(date +%s.%N)" -v h="$how" 'BEGIN { printf "%.1f %s\n", n - s, h }'
}

# run_bug BUG: build the mutant, run every detector, write $out/results/BUG.json.
run_bug() {
	local bug=$1 det clock cmd secs how what caught_by=() hangs=() first="" best=""
	what=$(awk -F'\t' -v b="$bug" '$1 == b { print $2 }' zoo/bugs.tsv)
	if [ "$bug" = clean ]; then
		what="no bug: every detector must pass on the clean code"
	fi
	if build_mutant "$bug"; then
		export F=$out/build/$bug/fuzz T=$out/build/$bug/tsan W=$out/build/$bug/work S=$budget H=$hang
		B=$(bug_backend "$bug")
		export B
		mkdir -p "$W"
		while IFS='|' read -r det clock cmd; do
			secs="" how=""
			read -r secs how < <(run_detector "$bug" "$det" "$(eval echo "$clock")" "$cmd") || true
			[ -n "$secs" ] || continue
			caught_by+=("\"$det\": $secs")
			[ "$how" = hang ] && hangs+=("\"$det\"")
			if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
				best=$secs
				first=$det
			fi
		done < <(detectors | grep -E -- "^(${only:-.*})\|")
	else
		echo "zoo: $bug: build failed, see $out/logs/$bug.build.log" >&2
		touch "$out/results/$bug.build-failed"
	fi
	printf '{"bug": "%s", "caught": %s, "detector": "%s", "seconds": %s, "what": "%s", "caught_by": {%s}, "hangs": [%s], "command": "%s"}\n' \
		"$bug" "$([ -n "$first" ] && echo true || echo false)" "${first:-MISSED}" "${best:-null}" \
		"$what" "$(IFS=,; echo "${caught_by[*]}")" "$(IFS=,; echo "${hangs[*]}")" \
		"$(cat "$out/command")" >"$out/results/$bug.json"
	if [ "$bug" = clean ]; then
		printf 'zoo: %-28s %s\n' "$bug" "$([ -z "$first" ] && echo "no detector failed (as it must)" || echo "DETECTOR FAILED: $first")" >&2
	elif [ -n "$first" ]; then
		printf 'zoo: %-28s first caught by %s after %ss%s\n' "$bug" "$first" "$best" \
			"$([[ " ${hangs[*]} " == *" \"$first\" "* ]] && echo " (hang)")" >&2
	else
		printf 'zoo: %-28s MISSED\n' "$bug" >&2
	fi
}

export -f run_bug run_detector build_mutant detectors find_bin cap run_fuzzer bug_backend
export out budget hang top only

# The clean code runs beside the bugs: a detector that fails on it is broken,
# and its catches of the bugs would mean nothing.
if [ "$report_only" = 0 ]; then
	rm -f "$out"/results/*.json "$out"/results/*.build-failed
	cmd="zoo/run.sh --budget $budget --hang-seconds $hang --jobs $jobs${only:+ --detectors '$only'}"
	[ "${#bugs[@]}" -lt "$(wc -l <<<"$known")" ] && cmd+=" ${bugs[*]}"
	echo "$cmd" >"$out/command"
	printf '%s\n' clean "${bugs[@]}" | xargs -P "$jobs" -I{} bash -c 'run_bug "$@"' _ {}
fi

python3 - "$out" "$readme" <<'PY'
import json, pathlib, re, subprocess, sys

out = pathlib.Path(sys.argv[1])
command = (out / "command").read_text().strip() if (out / "command").exists() else "zoo/run.sh"
rows = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
broken = sorted(p.name[:-len(".build-failed")] for p in (out / "results").glob("*.build-failed"))
clean = next((r for r in rows if r["bug"] == "clean"), None)
if clean is None:
    print(f"zoo: no results in {out}/results (run without --report-only first)", file=sys.stderr)
    sys.exit(2 if not rows else 3)
rows.remove(clean)
if clean["caught_by"]:
    print(f"zoo: detectors fail on the clean code, so they prove nothing: {clean['caught_by']}"
          f" (logs: {out}/logs/clean.*.log)", file=sys.stderr)
    sys.exit(3)
order = [l.split("\t")[0] for l in pathlib.Path("zoo/bugs.tsv").read_text().splitlines()
         if l and not l.startswith("#")]
rows.sort(key=lambda r: order.index(r["bug"]))
(out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
HEADER = ["| bug | what it breaks | first caught by | seconds | all detectors that caught it (seconds) |",
          "|---|---|---|---|---|"]


def row(r):
    hangs = set(r.get("hangs", []))
    det = r["detector"] if r["caught"] else "**MISSED**"
    if r["caught"] and r["detector"] in hangs:
        det += " (hang)"
    every = ", ".join(f"{d} ({s}{', hang' if d in hangs else ''})"
                      for d, s in sorted(r["caught_by"].items(), key=lambda kv: kv[1]))
    return f"| `{r['bug']}` | {r['what']} | {det} | {r['seconds']} | {every} |"


def intro(caught, total, runs):
    """runs: [(command, bugs, or None for every other row)]."""
    how = "; ".join(f"`{c}`" + (f" (the rows of {', '.join(f'`{b}`' for b in bugs)})" if bugs else "")
                    for c, bugs in runs)
    return (f"{caught} of {total} injected bugs caught, by {how} on {nproc} cores ({cpu}). "
            "Seconds are from the start of a detector to its failure; builds are not counted; "
            "\"hang\" marks a detector that caught the bug by stopping a hang.")


caught = sum(r["caught"] for r in rows)
md = [intro(caught, len(rows), [(command, None)]), ""] + HEADER + [row(r) for r in rows]
text = "\n".join(md) + "\n"
(out / "results.md").write_text(text)
print(text)
if sys.argv[2] == "1":
    # Rows of bugs not run now stay as the README has them, with their command.
    readme = pathlib.Path("README.md")
    s = readme.read_text()
    m = re.search(r"(<!-- zoo:begin -->\n)(.*?)(<!-- zoo:end -->)", s, flags=re.S)
    if not m:
        sys.exit("zoo: README.md has no <!-- zoo:begin --> ... <!-- zoo:end --> section")
    old = m.group(2)
    runs_m = re.search(r"<!-- zoo:runs (.*?) -->", old)
    if runs_m:
        runs = json.loads(runs_m.group(1))
    else:
        first = re.search(r"by `(.*?)`", old)
        runs = [[first.group(1), None]] if first else []
    ran = {r["bug"] for r in rows}
    kept = {}
    for line in old.splitlines():
        b = re.match(r"\| `([a-z0-9_]+)` \|", line)
        if b and b.group(1) in order and b.group(1) not in ran:
            kept[b.group(1)] = line
    runs = [[c, [b for b in bugs if b in kept] if bugs else None] for c, bugs in runs] if kept else []
    runs = [[c, bugs] for c, bugs in runs if bugs is None or bugs]
    runs.append([command, sorted(ran, key=order.index) if kept else None])
    new_rows = {r["bug"]: row(r) for r in rows}
    lines = [new_rows.get(b) or kept.get(b) for b in order]
    missing = [b for b, l in zip(order, lines) if l is None]
    lines = [l for l in lines if l]
    body = [f"<!-- zoo:runs {json.dumps(runs)} -->",
            intro(sum("**MISSED**" not in l for l in lines), len(lines), runs)
            + (f" Not run yet: {', '.join(f'`{b}`' for b in missing)}." if missing else ""),
            ""] + HEADER + lines
    readme.write_text(s[:m.start(2)] + "\n".join(body) + "\n" + s[m.end(2):])
if broken:
    print(f"zoo: the build failed for {', '.join(broken)} (logs: {out}/logs/*.build.log)", file=sys.stderr)
    sys.exit(3)
sys.exit(0 if caught == len(rows) else 1)
PY
