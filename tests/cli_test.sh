#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# cli_test.sh - the command-line contract (docs/exit-codes.md), tool by tool:
# --help on stdout with exit 0, --version with the version and commit, bad
# usage exit 2 before any work, harness failures exit 3 without a Python
# traceback, decimal numbers, paths from the caller's directory, output
# folders that are not the tool's refused, two campaigns on one folder
# kept apart, dependencies installed only after the flags are read. After
# the table it checks that nothing outside the tools' own folders changed:
# the sentinel folder's checksum and `git status --porcelain` of the checkout.
#
#   tests/cli_test.sh ZPOOL_STRESS ZPOOL_BENCH|- TRACE_TOOL|- REPLAY_FUZZER|-
#
# A binary given as '-' is not built in this preset; its rows are skipped.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib/cli.sh"
cli_init tests/cli_test.sh
[ $# -eq 4 ] || cli_usage_error "needs ZPOOL_STRESS ZPOOL_BENCH TRACE_TOOL REPLAY_FUZZER"
stress=$(cli_path "$1") bench=$2 tool=$3 replay=$4
[ "$bench" = - ] || bench=$(cli_path "$bench")
[ "$tool" = - ] || tool=$(cli_path "$tool")
[ "$replay" = - ] || replay=$(cli_path "$replay")
root=$CLI_ROOT
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZPOOL_NO_DEPS=1 # no row may install anything; the deps rows unset it
fails=0 rows=0

# A folder full of someone's files that no tool may touch.
sentinel=$tmp/sentinel
mkdir -p "$sentinel/sub"
echo "precious" >"$sentinel/notes.txt"
head -c 4096 /dev/urandom >"$sentinel/sub/data.bin"
sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
sentinel_sum=$(sum "$sentinel")
git_before=$(git -C "$root" status --porcelain 2>/dev/null || true)

# row WANT_RC STDERR_REGEX|- CMD...: run CMD from $tmp/cwd; check the exit
# code, that stderr matches, and that no Python traceback was printed.
mkdir -p "$tmp/cwd"
row() {
	local want=$1 re=$2 rc=0
	shift 2
	rows=$((rows + 1))
	(cd "$tmp/cwd" && timeout 120 "$@") >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: exit $rc, want $want: $*" >&2
		head -c 600 "$tmp/err" >&2
		fails=$((fails + 1))
	elif [ "$re" != - ] && ! grep -qE -- "$re" "$tmp/err"; then
		echo "FAIL: stderr does not match '$re': $*" >&2
		head -c 600 "$tmp/err" >&2
		fails=$((fails + 1))
	elif grep -q "^Traceback" "$tmp/err"; then
		echo "FAIL: a Python traceback reached the user: $*" >&2
		fails=$((fails + 1))
	fi
}

# help_version CMD...: --help prints usage to stdout (exit 0, stderr empty),
# --version prints "(zpool-harness) VERSION, commit HASH" (exit 0).
help_version() {
	row 0 - "$@" --help
	if [ ! -s "$tmp/out" ] || [ -s "$tmp/err" ]; then
		echo "FAIL: --help must print to stdout only: $*" >&2
		fails=$((fails + 1))
	fi
	row 0 - "$@" --version
	grep -qE '\(zpool-harness\) [0-9]+\.[0-9]+\.[0-9]+, commit ([0-9a-f]{12}(-dirty)?|unknown)$' "$tmp/out" ||
		{ echo "FAIL: --version printed '$(cat "$tmp/out")': $*" >&2; fails=$((fails + 1)); }
}

# Every command answers --help and --version.
for s in scripts/campaign.sh scripts/test.sh scripts/deps.sh fuzz/run.sh fuzz/speed.sh \
	fuzz/coverage.sh fuzz/afl.sh fuzz/oss_fuzz_test.sh bench/run.sh bench/shrink_cost.sh \
	bench/make_traces.sh stress/long_run.sh zoo/run.sh oss-fuzz/build.sh .clusterfuzzlite/build.sh \
	fuzz/targets.sh fuzz/counter_mutants.sh; do
	help_version "$root/$s"
done
for p in scripts/campaign.py scripts/triage.py fuzz/gen_corpus.py bench/report.py; do
	help_version python3 "$root/$p"
done
help_version "$stress"
[ "$bench" = - ] || help_version "$bench"
[ "$tool" = - ] || help_version "$tool"
[ "$replay" = - ] || help_version "$replay"
[ "$bench" = - ] || { row 0 - "$bench" --help && grep -q -- "--profile=quick|full" "$tmp/out" ||
	{ echo "FAIL: zpool_bench --help does not list its own flags" >&2; fails=$((fails + 1)); }; }

# Usage errors: exit 2, before any work (no build starts: these return at once).
row 2 "unknown preset 'nosuch'" "$root/scripts/test.sh" nosuch
row 2 "unknown option" "$root/scripts/test.sh" --bogus
row 2 "invalid choice" "$root/scripts/campaign.sh" --profile x
row 2 "unknown backend" "$root/scripts/campaign.sh" --backend nosuch
row 2 "not a decimal number" "$root/scripts/campaign.sh" --jobs 0x2
row 2 "not a decimal number" "$root/fuzz/run.sh" --seconds 1e3
row 2 "unknown target" "$root/fuzz/run.sh" nosuch_fuzzer
row 2 "unknown target" "$root/fuzz/speed.sh" nosuch_fuzzer
row 2 "not a decimal number" "$root/fuzz/oss_fuzz_test.sh" x
row 2 "unknown option" "$root/fuzz/oss_fuzz_test.sh" --bogus
row 2 "out of range" "$root/zoo/run.sh" --jobs 0
row 2 "unknown bug" "$root/zoo/run.sh" nosuch_bug
row 2 "no results in" "$root/zoo/run.sh" --report-only --out "$tmp/zoo-empty"
row 2 "not a decimal number" "$root/bench/run.sh" --reps 3x
row 2 "not a decimal number" "$root/bench/shrink_cost.sh" --pages "64 1x"
row 2 "not a decimal number" "$root/bench/make_traces.sh" --limit -5
row 2 "not a decimal number" "$root/stress/long_run.sh" 10s
row 2 "unknown argument" "$root/scripts/deps.sh" --bogus
row 2 "unknown option" "$stress" --frobnicate
row 2 "bad value '0x10' for --seed" "$stress" --seed 0x10
row 2 "bad value '-1' for --threads" "$stress" --threads -1
row 2 "bad value 'nan'" "$stress" --fail-evict nan
if [ "$bench" != - ]; then
	row 2 "--profile: 'x' is not quick or full" "$bench" --profile=x
	row 2 "--benchmark_filter: '\(' matches no benchmark" "$bench" --profile=quick --benchmark_filter='('
	row 2 "matches no benchmark" "$bench" --profile=quick --benchmark_filter=no_such_benchmark
	row 2 "unrecognized" "$bench" --bogus
	row 2 "not a number" "$bench" --shrink_cost=zbud:0x40
fi
if [ "$tool" != - ]; then
	row 2 "unknown command" "$tool" frobnicate
	row 2 "is not a number" "$tool" files --limit 010x --out "$tmp/t" .
	row 2 "unknown option" "$tool" anon --bogus 1 --out "$tmp/t"
	row 1 "not a number" "$tool" check "$root/stress/tests/bad-junk.txt"
fi
[ "$replay" = - ] || row 2 "cannot open|No such file" "$replay" "$tmp/no-such-input"

# Numbers are decimal: 010 is ten, 08 is eight.
row 0 - "$stress" --backend zbud --threads 010 --reclaimers 0 --ops 100 --seed 08 --json
grep -q '"threads": 10,' "$tmp/out" && grep -q '"seed": 8,' "$tmp/out" ||
	{ echo "FAIL: --threads 010 --seed 08 is not 10 threads, seed 8" >&2; fails=$((fails + 1)); }
# A progress line on stderr with --progress.
row 0 "zpool_stress: zbud: [0-9]+ s of the run: [0-9]+ ops, [0-9]+ evictions" \
	"$stress" --backend zbud --seconds 3 --progress

# A tool deletes only what it made: the sentinel (not empty, no marker) is
# refused as an output folder, from an absolute and from a relative path.
row 2 "not empty and was not made by a zpool-harness tool" "$root/scripts/campaign.sh" --report "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/scripts/campaign.sh" --work "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/fuzz/coverage.sh" --out "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/fuzz/afl.sh" --out "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/bench/run.sh" --out "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/bench/shrink_cost.sh" --out "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/zoo/run.sh" --out "$sentinel"
row 2 "not empty and was not made by a zpool-harness tool" "$root/fuzz/counter_mutants.sh" --build "$sentinel"
row 2 "is the checkout" "$root/scripts/campaign.sh" --report "$root"
cp -r "$sentinel" "$tmp/cwd/mine"
row 2 "'$tmp/cwd/mine' is not empty" "$root/scripts/campaign.sh" --report mine
rm -rf "$tmp/cwd/mine"
# ... and `--report .` from inside a checkout-like folder.
mkdir -p "$tmp/cwd/checkout" && echo x >"$tmp/cwd/checkout/README.md"
(cd "$tmp/cwd/checkout" && "$root/scripts/campaign.sh" --report . --no-build --builds "$tmp/nob") \
	>/dev/null 2>"$tmp/err" && rc=0 || rc=$?
rows=$((rows + 1))
[ "$rc" = 3 ] || [ "$rc" = 2 ] || { echo "FAIL: --report . exited $rc" >&2; fails=$((fails + 1)); }
[ -f "$tmp/cwd/checkout/README.md" ] || { echo "FAIL: --report . deleted the folder" >&2; fails=$((fails + 1)); }
rm -rf "$tmp/cwd/checkout"

# Harness failures: exit 3, one line, no traceback; relative paths from the cwd.
row 3 "--no-build: .* missing under $tmp/cwd/nob" "$root/scripts/campaign.sh" --no-build --builds nob
row 2 "no summary.md in $tmp/cwd/empty" "$root/scripts/campaign.sh" --readme-excerpt --report empty
row 3 "not built" "$root/fuzz/run.sh" --no-build --build "$tmp/nob" --seconds 1
row 3 "not built" "$root/fuzz/speed.sh" --build "$tmp/nob"

# Two campaigns on one work folder: the second stops at once (exit 3).
fake=$tmp/fakebuilds
mkdir -p "$fake/fuzz/fuzz" "$fake/tsan/stress"
for b in $("$root/fuzz/targets.sh" | sed "s,^,fuzz/fuzz/,") tsan/stress/zpool_stress; do
	printf '#!/bin/sh\nexit 0\n' >"$fake/$b" && chmod +x "$fake/$b"
done
mkdir -p "$tmp/w" && touch "$tmp/w/.zpool-harness-owned"
exec 9>"$tmp/w/.zpool-harness.lock"
flock -n 9
row 3 "in use by another campaign" "$root/scripts/campaign.sh" --no-build --builds "$fake" \
	--work "$tmp/w" --report "$tmp/r" --bench off
exec 9>&-
# ... and one that would rebuild the builds another runs from stops too.
exec 9>"$fake/.zpool-harness.lock"
flock -s -n 9
row 3 "builds folder .* is in use by another campaign" "$root/scripts/campaign.sh" --builds "$fake" \
	--work "$tmp/w" --report "$tmp/r" --bench off
exec 9>&-

# summary.json (docs/summary-json.md), from a campaign on the fake builds:
# every field there, numbers as numbers, phase statuses, the exit status.
row 0 - "$root/scripts/campaign.sh" --no-build --builds "$fake" --work "$tmp/w" --report "$tmp/r" \
	--bench off --fuzz-seconds 1 --stress-seconds 1 --jobs 1
python3 - "$tmp/r/summary.json" 0 <<'PY' || fails=$((fails + 1))
import json, re, sys
d = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
problems = []
for k, t in {"schema": int, "tool": str, "version": str, "commit": str, "command": list,
             "started": str, "finished": str, "seconds": (int, float), "machine": dict,
             "settings": dict, "backends": list, "phases": list, "exit_status": int,
             "interrupted": bool, "findings": list, "fuzz": list, "stress": list}.items():
    if not isinstance(d.get(k), t):
        problems.append(f"{k} is {d.get(k)!r}")
for k in ("started", "finished"):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(d.get(k))):
        problems.append(f"{k} is not ISO 8601 UTC")
s = d.get("settings", {})
if s.get("fuzz_seconds") != 1 or s.get("jobs") != 1 or s.get("bench") != "off":
    problems.append(f"settings do not hold the flags: {s}")
if d.get("exit_status") != want:
    problems.append(f"exit_status {d.get('exit_status')}, want {want}")
if [p["status"] for p in d.get("phases", [])] != (["passed", "passed"] if want == 0 else ["failed"]):
    problems.append(f"phases {d.get('phases')}")
if any(not isinstance(f.get("runs"), int) for f in d.get("fuzz", [])):
    problems.append("fuzz figures are not numbers")
if problems:
    print("FAIL: summary.json: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
# A fuzzer that exits 1 without a finding is the harness's failure: exit 3,
# and summary.json says which phase failed.
printf '#!/bin/sh\nexit 1\n' >"$fake/fuzz/fuzz/zpool_ops_fuzzer"
row 3 "exited 1 without a finding" "$root/scripts/campaign.sh" --no-build --builds "$fake" \
	--work "$tmp/w" --report "$tmp/r" --bench off --fuzz-seconds 1 --stress-seconds 1 --jobs 1 \
	--backend malloc
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["exit_status"] == 3 and d["phases"][-1]["status"] == "failed" and d["error"]))' \
	"$tmp/r/summary.json" || { echo "FAIL: summary.json of a harness failure" >&2; fails=$((fails + 1)); }

# Dependencies: installed only after the flags are read, and never with
# ZPOOL_NO_DEPS=1. Fake dpkg-query/apt-get/sudo record any attempt.
fakebin=$tmp/fakebin
mkdir -p "$fakebin"
for c in apt-get sudo; do
	printf '#!/bin/sh\necho "%s $*" >>%s/installs\nexit 0\n' "$c" "$tmp" >"$fakebin/$c"
done
printf '#!/bin/sh\nexit 1\n' >"$fakebin/dpkg-query" # nothing is installed
chmod +x "$fakebin"/*
unset ZPOOL_NO_DEPS
row 2 - env PATH="$fakebin:$PATH" "$root/scripts/test.sh" --bogus
row 2 - env PATH="$fakebin:$PATH" "$root/scripts/campaign.sh" --bogus
row 2 "not empty" env PATH="$fakebin:$PATH" "$root/scripts/campaign.sh" --report "$sentinel"
row 3 "missing under" env PATH="$fakebin:$PATH" "$root/scripts/campaign.sh" --no-build --builds "$tmp/nob"
[ ! -e "$tmp/installs" ] || { echo "FAIL: a usage error started apt-get: $(cat "$tmp/installs")" >&2; fails=$((fails + 1)); }
row 0 - env PATH="$fakebin:$PATH" "$root/scripts/deps.sh"
[ -e "$tmp/installs" ] || { echo "FAIL: deps.sh did not try to install with dpkg-query failing" >&2; fails=$((fails + 1)); }
rm -f "$tmp/installs"
row 2 "unknown preset" env PATH="$fakebin:$PATH" ZPOOL_NO_DEPS=1 "$root/scripts/test.sh" nosuch
[ ! -e "$tmp/installs" ] || { echo "FAIL: ZPOOL_NO_DEPS=1 still installed" >&2; fails=$((fails + 1)); }
# A system without dpkg/apt-get: a clear message, exit 3.
nodeb=$tmp/nodeb
mkdir -p "$nodeb"
for c in dirname; do ln -s "$(command -v $c)" "$nodeb/$c"; done
row 3 "not a Debian system" env PATH="$nodeb" "$BASH" "$root/scripts/deps.sh"
export ZPOOL_NO_DEPS=1

# Nothing outside the tools' own folders changed.
[ "$(sum "$sentinel")" = "$sentinel_sum" ] || { echo "FAIL: the sentinel folder changed" >&2; fails=$((fails + 1)); }
git_after=$(git -C "$root" status --porcelain 2>/dev/null || true)
[ "$git_after" = "$git_before" ] ||
	{ echo "FAIL: the checkout changed: $(diff <(echo "$git_before") <(echo "$git_after"))" >&2; fails=$((fails + 1)); }
echo "cli_test: $rows rows, $fails failed"
[ $fails -eq 0 ]
