#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The main job in its tiny profile, checked by what its report says: every
# backend fuzzed and stressed, the benchmark table and plots present, the
# HTML self-contained, no findings. Then a run stopped by SIGINT must still
# write the report of what ran and exit 130, a run on a build with an
# injected bug must report a finding that replays, a run on a build with an
# injected deadlock must report the hang with its input, stop a target that
# overruns its deadline and go on, and bad usage must exit 2.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "campaign_test: $*" >&2; exit 1; }

rc=0
scripts/campaign.sh --profile tiny --jobs 1 --report "$tmp/report" --work "$tmp/work" \
	>"$tmp/out.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -30 "$tmp/out.log"; fail "tiny campaign exited $rc"; }
md=$tmp/report/summary.md
[ -s "$md" ] || fail "no summary.md"
for b in $(sed -n 's/^ZPOOL_BACKEND(\([a-z0-9_]*\)).*/\1/p' backends/backends.def); do
	grep -q "^| zpool_ops_fuzzer\[$b\] | [1-9]" "$md" || fail "no fuzz figures for $b"
	grep -q "^| $b | [1-9][0-9]* | .* | 0 | passed |$" "$md" || fail "no passing stress row for $b"
done
grep -q "^| zbud_reclaim_fuzzer | [1-9]" "$md" || fail "no zbud_reclaim_fuzzer figures"
grep -q "findings: \*\*0\*\*" "$md" || fail "findings reported"
# summary.json (docs/summary-json.md): the commit it ran, every phase passed.
python3 - "$tmp/report/summary.json" "$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit_status"] == 0, d["exit_status"]
assert d["commit"].split("-")[0] == sys.argv[2], (d["commit"], sys.argv[2])
assert [p["status"] for p in d["phases"]] == ["passed"] * len(d["phases"]), d["phases"]
assert {p["name"] for p in d["phases"]} >= {"build", "fuzz", "stress", "bench"}, d["phases"]
assert all(isinstance(f["runs"], int) and f["runs"] > 0 for f in d["fuzz"]), d["fuzz"]
PY
	fail "summary.json does not describe the run"
grep -q "^## Benchmarks" "$md" && grep -q "zbud/malloc" "$md" || fail "no benchmark table"
ls "$tmp"/report/bench/*.png >/dev/null 2>&1 || fail "no benchmark plots"
grep -q "data:image/png;base64," "$tmp/report/summary.html" || fail "HTML does not embed the plots"
grep -q "<table>" "$tmp/report/summary.html" || fail "HTML has no tables"
[ -z "$(find corpus -newer "$md" -type f)" ] || fail "the campaign wrote into corpus/ without --merge"

# Ctrl-C: stop during fuzzing; the report of what ran is still written.
rc=0
python3 scripts/campaign.py --no-build --fuzz-seconds 30 --stress-seconds 1 --bench off --jobs 1 \
	--report "$tmp/stopped" --work "$tmp/work" >"$tmp/stop.log" 2>&1 &
pid=$!
sleep 6
kill -INT "$pid"
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || { cat "$tmp/stop.log"; fail "stopped campaign exited $rc, not 130"; }
grep -q "stopped by Ctrl-C" "$tmp/stopped/summary.md" || fail "stopped report does not say so"
grep -q "^| zpool_ops_fuzzer\[zbud\] (stopped) |" "$tmp/stopped/summary.md" || fail "stopped report lost the fuzz run"
[ -z "$(pgrep -f "$tmp/work" || true)" ] || fail "children left running after Ctrl-C"

# A finding: a mutant with an injected bug (zoo/bugs.tsv) must make the
# campaign exit 1 and report a reproducer whose replay command fails too.
# Its triage (scripts/triage.py): several inputs make one bug, each bug's
# reduced input is smaller and fails the same way, and its C program,
# built against the installed package, fails under the sanitizers on the
# mutant and passes on the clean build.
for preset in fuzz tsan; do
	cmake --preset "$preset" -B "$tmp/mutant/$preset" -DZPOOL_BUG=size_rounds_down >/dev/null
done
cmake --build "$tmp/mutant/fuzz" --target $(fuzz/targets.sh) >/dev/null
cmake --build "$tmp/mutant/tsan" --target zpool_stress >/dev/null
rc=0
python3 scripts/campaign.py --no-build --builds "$tmp/mutant" --backend zbud --fuzz-seconds 3 \
	--minimize-seconds 3 --stress-seconds 1 --bench off --jobs 2 --report "$tmp/found" \
	--work "$tmp/found-work" --findings "$tmp/findings" >"$tmp/found.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/found.log"; fail "a campaign on a mutant exited $rc, not 1"; }
grep -q "^- reproducer: \`$tmp/found-work/fuzz/.*/artifacts/crash-" "$tmp/found/summary.md" ||
	fail "no reproducer reported for the mutant"
replay=$(sed -n 's/^- replay: `\(.*\)`$/\1/p' "$tmp/found/summary.md" | sed -n 1p)
rc=0
bash -c "$replay" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the reported replay command does not reproduce: $replay"

# A hang: the zpool_ops_fuzzer of a mutant that calls the evict callback
# under the pool lock deadlocks on the first reclaim; libFuzzer's -timeout
# (--hang-seconds 2) must end that input and the campaign report it as a
# hang with its input and a bounded replay command. The reclaim target is
# replaced by a program that ignores SIGTERM and never ends (a hang
# libFuzzer cannot stop): the campaign must stop it at its deadline, report
# it, and still run the stress phase (the clean TSan build of the tiny run).
cmake --preset fuzz -B "$tmp/hang/fuzz" -DZPOOL_BUG=evict_under_pool_lock >/dev/null
cmake --build "$tmp/hang/fuzz" --target zpool_ops_fuzzer >/dev/null
cmake --build "$tmp/hang/fuzz" --target zpool_diff_fuzzer >/dev/null
printf '#!/bin/sh\ntrap "" TERM INT ALRM\nwhile :; do sleep 1; done\n' \
	>"$tmp/hang/fuzz/fuzz/zbud_reclaim_fuzzer"
chmod +x "$tmp/hang/fuzz/fuzz/zbud_reclaim_fuzzer"
ln -s "$PWD/build/tsan" "$tmp/hang/tsan"
rc=0 start=$SECONDS
python3 scripts/campaign.py --no-build --builds "$tmp/hang" --backend zbud --fuzz-seconds 1 \
	--hang-seconds 2 --minimize-seconds 0 --no-c-reproducer --stress-seconds 1 --bench off --jobs 1 \
	--report "$tmp/hung" --work "$tmp/hung-work" >"$tmp/hung.log" 2>&1 || rc=$?
took=$((SECONDS - start))
md=$tmp/hung/summary.md
[ "$rc" -eq 1 ] || { cat "$tmp/hung.log"; fail "a campaign on a hang mutant exited $rc, not 1"; }
grep -q "^### [0-9]*\. fuzz: zpool_ops_fuzzer\[zbud\]: hang (an input ran over 2 s)" "$md" ||
	{ cat "$md"; fail "the deadlock was not reported as a hang"; }
grep -q "^- reproducer: \`$tmp/hung-work/fuzz/.*/artifacts/timeout-" "$md" || fail "no timeout input reported"
replay=$(grep -A3 "hang (an input ran over" "$md" | sed -n 's/^- replay: `\(.*\)`$/\1/p' | head -1)
[[ "$replay" == *" -timeout=2 "* ]] || fail "the replay of a hang is not bounded: $replay"
rc=0
timeout 60 bash -c "$replay" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the hang's replay command exited $rc: $replay"
grep -q "^### [0-9]*\. fuzz: zbud_reclaim_fuzzer: hang (still running at its deadline of 15 s" "$md" ||
	fail "the target that overran its deadline was not reported"
grep -q "^| zbud | [1-9][0-9]* | .* | passed |$" "$md" || fail "the stress phase did not run after the hang"
# plan: 1 + 1 s fuzz, 1 s stress; each step may take budget + 2 * 2 + 10 s, stopping one 5 s more
[ "$took" -le 60 ] || fail "the hang campaign took ${took}s, over its bound"
[ -z "$(pgrep -f "$tmp/hang/fuzz" || true)" ] || fail "a hung target was left running"

# bugs.py PHASE SUMMARY: checks the distinct bugs of a campaign's summary.json.
bugs() {
	python3 - "$@" <<'PY'
import json, sys
phase, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
bugs, findings = doc["bugs"], doc["findings"]
def fail(why):
    sys.exit(f"campaign_test: {path}: {why}")
if not bugs:
    fail("no distinct bugs")
if sum(b["inputs"] for b in bugs) != len([f for f in findings if f.get("signature")]):
    fail("the bugs do not account for every finding")
if phase == "fuzz":
    fuzzed = [b for b in bugs if "target" in b]
    if not any(b["inputs"] >= 2 for b in fuzzed):
        fail("no bug found by several inputs: nothing was deduplicated")
    if len(fuzzed) >= len([f for f in findings if f["phase"] == "fuzz"]):
        fail("as many fuzz bugs as fuzz findings")
    for b in fuzzed:
        if not b["minimized_fails_same"] or b["minimized_size"] > b["size"]:
            fail(f"bug {b['id']}: reduced input {b['minimized_size']} of {b['size']} bytes, fails the same: {b['minimized_fails_same']}")
    if not any(b["minimized_size"] < b["size"] for b in fuzzed):
        fail("no reproducer was made smaller")
    made = [b for b in fuzzed if b.get("c_program")]
    if not made or not all(b.get("c_fails") for b in made):
        fail("C reproducers: " + "; ".join(f"{b['id']}: {b.get('c_result') or b.get('c_program_error')}" for b in fuzzed))
if phase == "stress":
    s = [b for b in bugs if "command" in b]
    if not s or not s[0]["kind"].startswith("TSan"):
        fail(f"no TSan bug from the stress phase: {[b['title'] for b in bugs]}")
    b = s[0]
    if b["seed"] != 1 or b["threads"] != 4 or "--seed 1" not in b["command"]:
        fail(f"stress bug without its seed, threads or command: {b}")
    if not b.get("reproduces_kind"):
        fail(f"the stress bug did not fail again with the same seed: {b.get('rerun_title')}")
if phase == "again":
    if not any(not b["new"] for b in bugs):
        fail("a second campaign on the same findings folder calls every bug new")
print(f"{path}: {len(bugs)} distinct bug(s) from {len(findings)} finding(s): ok")
PY
}
bugs fuzz "$tmp/found/summary.json" || fail "triage of the fuzz mutant"
python3 scripts/triage.py --check-c "$tmp/mutant/fuzz" --findings "$tmp/findings" --work "$tmp/c" \
	>"$tmp/c-mutant.log" 2>&1 && { cat "$tmp/c-mutant.log"; fail "a C reproducer passes on the mutant"; }
grep -q "passes against" "$tmp/c-mutant.log" && { cat "$tmp/c-mutant.log"; fail "a C reproducer passes on the mutant"; }
python3 scripts/triage.py --check-c build/fuzz --findings "$tmp/findings" --work "$tmp/c" \
	>"$tmp/c-clean.log" 2>&1 || { cat "$tmp/c-clean.log"; fail "a C reproducer fails on the clean build"; }

# With --merge each reduced reproducer becomes a regression input (here
# into a scratch folder, by the same triage code the campaign runs).
python3 scripts/triage.py --summary "$tmp/found/summary.json" --builds "$tmp/mutant" --merge \
	--regressions "$tmp/regressions" --findings "$tmp/findings-merge" --work "$tmp/merge-work" \
	--minimize-seconds 1 --no-c-reproducer >/dev/null 2>&1 || true
ls "$tmp"/regressions/*/triage-* >/dev/null 2>&1 || fail "no regression input written"
for f in "$tmp"/regressions/*/triage-*; do
	t=$(basename "$(dirname "$f")")
	"$tmp/mutant/fuzz/fuzz/$t" "$f" >/dev/null 2>&1 && fail "regression $f passes on the mutant"
	"build/fuzz/fuzz/$t" "$f" >/dev/null 2>&1 || fail "regression $f fails on the clean build"
done

# A mutant only the stress phase catches (a data race): its TSan report
# gets the seed, the command, the thread count, and a rerun.
cmake --preset tsan -B "$tmp/mutant-race/tsan" -DZPOOL_BUG=free_takes_no_lock >/dev/null
cmake --build "$tmp/mutant-race/tsan" --target zpool_stress >/dev/null
ln -s "$PWD/build/fuzz" "$tmp/mutant-race/fuzz"
rc=0
python3 scripts/campaign.py --no-build --builds "$tmp/mutant-race" --backend zbud --fuzz-seconds 1 \
	--stress-seconds 2 --bench off --jobs 1 --report "$tmp/race" --work "$tmp/race-work" \
	--findings "$tmp/findings" >"$tmp/race.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/race.log"; fail "a campaign on a racy mutant exited $rc, not 1"; }
bugs stress "$tmp/race/summary.json" || fail "triage of the stress mutant"

# A second campaign on the same findings folder tells known bugs from new.
python3 scripts/campaign.py --no-build --builds "$tmp/mutant" --backend zbud --fuzz-seconds 1 \
	--minimize-seconds 0 --no-c-reproducer --stress-seconds 1 --bench off --jobs 2 \
	--report "$tmp/again" --work "$tmp/again-work" --findings "$tmp/findings" >"$tmp/again.log" 2>&1 || true
bugs again "$tmp/again/summary.json" || fail "the findings index"
grep -q "already in the findings index" "$tmp/again/summary.md" || fail "the report does not tell known bugs"

rc=0
scripts/campaign.sh --backend no-such-backend >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown backend exited $rc, not 2"
echo "campaign_test: ok"
