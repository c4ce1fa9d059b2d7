#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""campaign.py - the harness's main job: a bounded campaign over the backends.

Phases, for every registered backend or those named with --backend:
  1. build   the fuzz (libFuzzer, ASan+UBSan), tsan and release presets;
  2. fuzz    each fuzz target from its corpus, for a bounded time, spread over
             every core with libFuzzer -fork; new inputs go to the work folder,
             corpus/ is only touched with --merge;
  3. stress  the stress harness under TSan with fault injection;
  4. bench   the benchmark comparison (quick profile, or --bench full).
Then a report folder: summary.md, the same as a self-contained summary.html,
the benchmark table and plots, and every finding with its reproducer, the
command that replays it and the first lines of its report.

Exit status (docs/exit-codes.md): 0 nothing found, 1 something found, 2 bad
usage, 3 the harness failed (a build, a missing --builds folder, a phase that
could not run), 130 stopped by Ctrl-C; the report of what ran is written in
every case but 2. Relative folders are taken from the caller's working
directory. The report folder is emptied first, but only if a zpool-harness
tool made it (it carries the marker file .zpool-harness-owned); the work and
report folders are locked, so a second campaign on the same folders stops at
once (exit 3) instead of trampling the first. summary.json follows
docs/summary-json.md.
"""
import argparse
import base64
import datetime
import fcntl
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import cli  # noqa: E402  (scripts/lib/cli.py)
import triage  # noqa: E402  (scripts/triage.py: distinct bugs, reduced inputs, C reproducers)

ROOT = Path(__file__).resolve().parent.parent
SUMMARY_SCHEMA = 1
ARTIFACT_PREFIXES = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=1:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}
# Seconds a stopped step gets between SIGTERM and SIGKILL to its process group.
KILL_GRACE = 5


def deadline(budget, hang):
    """A step's hard limit: its budget, twice the hang limit (a hang must last
    the limit before it is seen, and the report of what hung takes its time
    too), and a start-up and wind-down slack of a quarter of the budget, at
    least 10 s. A step still running then is stopped and reported as a hang."""
    return budget + 2 * hang + max(10, budget // 4)


# (fuzz seconds per target, stress seconds per backend, bench profile)
PROFILES = {
    "tiny": (3, 2, "quick"),
    "default": (60, 60, "quick"),
    "full": (600, 600, "full"),
}


class Interrupted(Exception):
    pass


positive_int = cli.decimal(1)


def parse_args(argv):
    p = cli.Parser(
        "scripts/campaign.sh",
        description="Fuzz, stress and benchmark every backend for a bounded time and write a report. "
                    "Relative folders are taken from the current directory. The report folder is "
                    "emptied first only if a zpool-harness tool made it (.zpool-harness-owned); the "
                    "work, report and build folders are locked, so a second campaign on the same "
                    "folders stops (exit 3) instead of trampling this one. summary.json: "
                    "docs/summary-json.md.")
    p.add_argument("--backend", action="append", metavar="NAME",
                   help="a backend to cover (repeatable; default: every registered one)")
    p.add_argument("--extra-backend", action="append", metavar="DIR", default=[],
                   help="an out-of-tree backend folder to build in and cover (repeatable; also "
                        "the ZPOOL_EXTRA_BACKENDS environment variable, folders separated by ';'; "
                        "docs/backend-contract.md)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default",
                   help="time budget: tiny (seconds, for tests), default, full")
    p.add_argument("--fuzz-seconds", type=positive_int, metavar="N",
                   help="seconds per fuzz target run (profile default: 60)")
    p.add_argument("--stress-seconds", type=positive_int, metavar="N",
                   help="seconds of stress per backend (profile default: 60)")
    p.add_argument("--bench", choices=["off", "quick", "full"],
                   help="benchmark profile (profile default: quick)")
    p.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                   help="fuzzing processes per target (default: the number of cores)")
    p.add_argument("--report", default="report", metavar="DIR", help="report folder (default: report/)")
    p.add_argument("--work", default="work", metavar="DIR",
                   help="work folder for new corpus entries and logs (default: work/)")
    p.add_argument("--merge", action="store_true",
                   help="merge new coverage from the work folder into corpus/ at the end")
    p.add_argument("--seed", type=positive_int, default=1, help="seed of the stress runs")
    p.add_argument("--hang-seconds", type=positive_int, default=10, metavar="N",
                   help="a fuzz input or a stress run that makes no progress for N s is a hang, "
                        "reported as a finding (libFuzzer -timeout, the stress watchdog); each fuzz "
                        "target, stress run and the bench are stopped at their budget + 2N s + a "
                        "quarter of the budget (at least 10 s) and reported as a hang (default 10)")
    p.add_argument("--no-build", action="store_true", help="use the builds already in the build folder")
    p.add_argument("--builds", default="build", metavar="DIR",
                   help="folder holding the fuzz/ and tsan/ preset builds (default: build/)")
    p.add_argument("--readme-excerpt", action="store_true",
                   help="run nothing: copy the head, fuzzing and stress sections of the report's "
                        "summary.md into README.md")
    triage.add_arguments(p)
    p.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    env_dirs = [d for d in os.environ.get("ZPOOL_EXTRA_BACKENDS", "").split(";") if d]
    args.extra_backends = [cli.path(d) for d in args.extra_backend + env_dirs]
    try:
        known = registered_backends(args.extra_backends)
    except ValueError as e:
        p.error(str(e))
    # Every build the campaign makes or starts (cmake, bench/run.sh) sees them.
    os.environ["ZPOOL_EXTRA_BACKENDS"] = ";".join(str(d) for d in args.extra_backends)
    unknown = [b for b in (args.backend or []) if b not in known]
    if unknown:
        p.error(f"unknown backend {', '.join(unknown)} (registered: {', '.join(known)})")
    args.report = cli.path(args.report)
    args.work = cli.path(args.work)
    args.builds = cli.path(args.builds)
    args.findings = cli.path(args.findings) if args.findings else args.work / "findings"
    args.regressions = cli.path(args.regressions) if args.regressions else None
    fuzz_s, stress_s, bench = PROFILES[args.profile]
    args.fuzz_seconds = args.fuzz_seconds or fuzz_s
    args.stress_seconds = args.stress_seconds or stress_s
    args.bench = args.bench or bench
    return p, args


class Progress:
    """One status line: phase, target, elapsed and remaining, live figures."""

    def __init__(self, planned_seconds):
        self.start = time.monotonic()
        self.planned = planned_seconds
        self.spent_planned = 0.0
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0

    def phase_done(self, planned):
        self.spent_planned += planned

    def show(self, phase, what, step_elapsed, step_total, live=""):
        now = time.monotonic()
        if not self.tty and now - self.last_print < 10:
            return
        self.last_print = now
        left = max(0.0, self.planned - self.spent_planned - step_elapsed)
        line = (f"[{phase}] {what}: {step_elapsed:4.0f}s of {step_total:.0f}s"
                f" | campaign {fmt_time(now - self.start)} elapsed, ~{fmt_time(left)} left"
                f"{' | ' + live if live else ''}")
        if self.tty:
            sys.stderr.write("\r\033[K" + line[:200])
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def say(self, text):
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def fmt_time(seconds):
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Runner:
    """Runs children in their own process group so Ctrl-C stops them all."""

    def __init__(self):
        self.child = None
        self.interrupted = False
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)

    def on_signal(self, signum, frame):
        self.interrupted = True
        if self.child and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def check(self):
        if self.interrupted:
            raise Interrupted()

    def popen(self, cmd, **kw):
        self.check()
        env = dict(os.environ)
        env.update(SANITIZER_ENV)
        env.update(kw.pop("env", {}))
        try:
            self.child = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, **kw)
        except OSError as e:
            raise cli.HarnessError(f"cannot run {cmd[0]}: {e.strerror}")
        return self.child

    def run(self, cmd, log, **kw):
        with open(log, "w") as out:
            proc = self.popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
            rc = proc.wait()
        self.child = None
        self.check()
        return rc

    def wait_bounded(self, proc, limit, tick=None):
        """Wait for @proc at most @limit seconds, calling @tick every half second;
        past the limit, stop its whole process group. True if it had to be stopped."""
        end = time.monotonic() + limit
        while True:
            try:
                proc.wait(timeout=0.5)
                return False
            except subprocess.TimeoutExpired:
                pass
            if self.interrupted:
                # Ctrl-C: the handler sent SIGTERM; a child too stuck to obey gets SIGKILL
                self.stop_group(proc)
                return False
            if tick:
                tick()
            if time.monotonic() >= end:
                self.stop_group(proc)
                return True

    @staticmethod
    def stop_group(proc):
        """SIGTERM to the process group, SIGKILL to what is left after KILL_GRACE s."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; stragglers of its group (fork-mode jobs) go now
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        proc.wait()


def def_names(path):
    return re.findall(r"^ZPOOL_BACKEND\((\w+)\)", Path(path).read_text(), re.M)


def registered_backends(extra_dirs=()):
    """The backend names, in registration order: backends/backends.def, then each
    out-of-tree folder's backend.def lines or, without one, its name (the rule of
    cmake/backends.cmake). ValueError for a folder that holds no backend."""
    names = def_names(ROOT / "backends/backends.def")
    for d in extra_dirs:
        d = Path(d)
        if not d.is_dir() or not any(d.glob("*.c")):
            raise ValueError(f"--extra-backend: {d} is not a folder with .c files")
        more = def_names(d / "backend.def") if (d / "backend.def").exists() else [d.name]
        if not more or any(n in names for n in more):
            raise ValueError(f"--extra-backend: {d} registers {more or 'nothing'}, "
                             f"or a name already taken")
        names += more
    return names


def build_backends(build):
    """The backends a configured build holds, from the list CMake writes there."""
    listing = Path(build) / "zpool-backends.txt"
    if not listing.exists():
        return None
    return [line.split("\t")[0] for line in listing.read_text().splitlines() if line]


def fuzz_targets():
    """[(target, scope)] from fuzz/targets.txt, the one list of fuzz targets:
    scope "each" (one run per backend), "vs-NAME" (one run per backend other
    than NAME, compared with NAME) or a backend name (that backend only)."""
    lines = (ROOT / "fuzz/targets.txt").read_text().splitlines()
    return [tuple(l.split()[:2]) for l in lines if l.strip() and not l.startswith("#")]


def fuzz_runs(backends):
    """(label, target, env) of every fuzz run a campaign over @backends makes."""
    runs = []
    for target, scope in fuzz_targets():
        if scope == "each":
            runs += [(f"{target}[{b}]", target, {"ZPOOL_FUZZ_BACKEND": b}) for b in backends]
        elif scope.startswith("vs-"):
            ref = scope[3:]
            runs += [(f"{target}[{b} vs {ref}]", target, {"ZPOOL_FUZZ_BACKEND": b})
                     for b in backends if b != ref]
        elif scope in backends:
            runs.append((target, target, {}))
    return runs


def build_presets(runner, presets, builds, logdir, progress):
    for preset in presets:
        progress.say(f"[build] preset {preset}")
        log = logdir / f"build-{preset}.log"
        rc = runner.run(["cmake", "--preset", preset, "-B", str(builds / preset),
                         "-DZPOOL_EXTRA_BACKENDS=" + os.environ.get("ZPOOL_EXTRA_BACKENDS", "")], log)
        if rc == 0:
            with open(log, "a") as out:
                proc = runner.popen(["cmake", "--build", str(builds / preset), "-j", str(os.cpu_count() or 1)],
                                    stdout=out, stderr=subprocess.STDOUT)
                rc = proc.wait()
                runner.child = None
                runner.check()
        if rc != 0:
            raise cli.HarnessError(f"building preset {preset} failed; see {log}")


# What a bug looks like in a fuzzer's or the stress harness's log.
CRASH_MARKERS = ("==ERROR", "ERROR: libFuzzer", "ERROR: AddressSanitizer", "runtime error",
                 "zpool BUG", "MISMATCH", "WARNING: ThreadSanitizer", "deadly signal",
                 "SUMMARY: ", "LeakSanitizer", "timeout")

# A libFuzzer status line, plain ("#N ... exec/s: E") or -fork ("#N: ... exec/s E").
FUZZ_LINE = re.compile(r"^#(\d+):?\s.*?cov: (\d+) ft: (\d+).*?corp: (\d+).*?exec/s:? (\d+)")


def count_files(path):
    return sum(1 for p in Path(path).iterdir() if p.is_file()) if Path(path).is_dir() else 0


def first_report_lines(log, limit=12):
    """The first lines of the sanitizer or harness report in a log."""
    lines = Path(log).read_text(errors="replace").splitlines() if Path(log).exists() else []
    markers = ("==ERROR", "ERROR: ", "runtime error", "zpool BUG", "MISMATCH", "mismatch",
               "WARNING: ThreadSanitizer", "deadly signal", "SUMMARY:", "FAIL", "zpool_stress: HANG")
    for i, line in enumerate(lines):
        if any(m in line for m in markers):
            return lines[i:i + limit]
    return lines[-limit:]


def fuzz_one(runner, args, progress, build, label, target, backend_env, workdir, findings):
    """One fuzz target for args.fuzz_seconds; returns its figures."""
    dirs = workdir / "fuzz" / re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")
    corpus = dirs / "corpus"
    artifacts = dirs / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = ROOT / "corpus" / target
    regressions = ROOT / "corpus" / "regressions" / target
    before = count_files(seeds) + count_files(corpus)
    known_artifacts = set(os.listdir(artifacts))
    binary = build / "fuzz" / target
    cmd = [str(binary), f"-max_total_time={args.fuzz_seconds}", f"-timeout={args.hang_seconds}",
           "-max_len=4096", "-print_final_stats=1", f"-artifact_prefix={artifacts}/"]
    dict_file = ROOT / "fuzz" / f"{target}.dict"
    if dict_file.exists() and dict_file.stat().st_size:
        cmd.append(f"-dict={dict_file}")
    if args.jobs > 1:
        cmd += [f"-fork={args.jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    cmd += [str(corpus), str(seeds)] + ([str(regressions)] if regressions.is_dir() else [])
    log = dirs / "fuzz.log"
    figures = {"label": label, "target": target, "seconds": args.fuzz_seconds, "runs": 0,
               "exec_per_sec": 0, "cov": 0, "ft": 0, "corpus_before": before, "corpus_after": before,
               "findings": 0, "exit": None}
    limit = deadline(args.fuzz_seconds, args.hang_seconds)
    start = time.monotonic()

    def read_lines(stream, out):
        for line in stream:
            out.write(line)
            m = FUZZ_LINE.search(line)
            if m:
                figures["runs"] = int(m.group(1))
                figures["cov"], figures["ft"] = int(m.group(2)), int(m.group(3))
                figures["exec_per_sec"] = int(m.group(5))
            elif line.startswith("stat::number_of_executed_units:"):
                figures["runs"] = int(line.split(":")[-1])
            elif line.startswith("stat::average_exec_per_sec:"):
                figures["exec_per_sec"] = int(line.split(":")[-1])

    with open(log, "w") as out:
        proc = runner.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1, env=backend_env)
        reader = threading.Thread(target=read_lines, args=(proc.stdout, out), daemon=True)
        reader.start()
        overran = runner.wait_bounded(proc, limit, lambda: progress.show(
            "fuzz", label, time.monotonic() - start, args.fuzz_seconds,
            f"exec/s {figures['exec_per_sec']} cov {figures['cov']} ft {figures['ft']}"))
        reader.join(timeout=KILL_GRACE)
        figures["exit"] = proc.returncode
        if overran:
            out.write(f"ERROR: campaign: hang: still running at its deadline of {limit} s; stopped\n")
    runner.child = None
    figures["overran"] = overran
    figures["elapsed"] = round(time.monotonic() - start, 1)
    # libFuzzer's -fork figure is per job; the report gives all processes' runs per second.
    if figures["elapsed"] > 0:
        figures["exec_per_sec"] = round(figures["runs"] / figures["elapsed"])
    figures["corpus_after"] = count_files(seeds) + count_files(corpus)
    new = sorted(set(os.listdir(artifacts)) - known_artifacts)
    new = [a for a in new if a.startswith(ARTIFACT_PREFIXES)]
    if figures["exit"] not in (0, None) and not new and not runner.interrupted and not overran:
        text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        if not any(m in text for m in CRASH_MARKERS):
            # No artifact and no report of a bug: libFuzzer could not run (a
            # bad flag, a missing folder, a binary that does not start).
            raise cli.HarnessError(f"{label}: the fuzzer exited {figures['exit']} without a "
                                   f"finding; see {log}")
        new = ["(no reproducer written)"]
    env_prefix = " ".join(f"{k}={v}" for k, v in backend_env.items()) + " " if backend_env else ""
    for a in new:
        path = artifacts / a
        # a replay of a hang must be bounded too: libFuzzer's own default is 1200 s
        replay = env_prefix + (f"{binary} -timeout={args.hang_seconds} {path}" if path.exists()
                               else " ".join(cmd))
        what = (f"{label}: hang (an input ran over {args.hang_seconds} s)" if a.startswith("timeout-")
                else f"{label}: {a.split('-')[0]}")
        findings.append({"phase": "fuzz", "what": what,
                         "kind": "hang" if a.startswith("timeout-") else "crash",
                         "reproducer": str(path) if path.exists() else None,
                         "replay": replay, "log": str(log), "report": first_report_lines(log),
                         "target": target, "binary": str(binary), "env": backend_env,
                         "timeout": args.hang_seconds, "detector": f"fuzz/{label}"})
    if overran:
        new.append("(stopped at its deadline)")
        findings.append({"phase": "fuzz", "kind": "hang",
                         "what": f"{label}: hang (still running at its deadline of {limit} s, "
                                 f"{args.fuzz_seconds} s planned: stopped)",
                         "reproducer": None, "replay": env_prefix + " ".join(cmd), "log": str(log),
                         "report": first_report_lines(log), "target": target, "binary": str(binary),
                         "env": backend_env, "exit": figures["exit"], "detector": f"fuzz/{label}"})
    figures["findings"] = len(new)
    figures["stopped"] = runner.interrupted
    progress.phase_done(args.fuzz_seconds)
    return figures


def fuzz_phase(runner, args, progress, build, backends, workdir, findings, results):
    """Every target run appends its figures to @results, a stopped one too."""
    for label, target, env in fuzz_runs(backends):
        results.append(fuzz_one(runner, args, progress, build, label, target, env, workdir, findings))
        runner.check()



def stress_phase(runner, args, progress, build, backends, workdir, findings, results):
    for backend in backends:
        cmd = [str(build / "stress" / "zpool_stress"), "--backend", backend, "--threads", "4",
               "--reclaimers", "2", "--slots", "1024", "--max-pages", "64", "--fail-page-alloc", "0.01",
               "--fail-evict", "0.05", "--seed", str(args.seed), "--seconds", str(args.stress_seconds),
               "--check-every", "20000", "--hang-seconds", str(args.hang_seconds), "--json"]
        log = workdir / f"stress-{backend}.log"
        out_json = workdir / f"stress-{backend}.json"
        limit = deadline(args.stress_seconds, args.hang_seconds)
        start = time.monotonic()
        with open(out_json, "w") as out, open(log, "w") as err:
            proc = runner.popen(cmd, stdout=out, stderr=err)
            overran = runner.wait_bounded(proc, limit, lambda: progress.show(
                "stress", f"{backend} under TSan", time.monotonic() - start, args.stress_seconds))
            if overran:
                err.write(f"ERROR: campaign: hang: still running at its deadline of {limit} s; stopped\n")
        runner.child = None
        if runner.interrupted:
            break
        rc = proc.returncode
        entry = {"backend": backend, "exit": rc, "command": " ".join(cmd), "verdict": None}
        try:
            doc = json.loads(out_json.read_text())
            entry["verdict"] = doc.get("verdict")
            entry.update(doc["results"][0])
        except (ValueError, KeyError, IndexError, AttributeError):
            pass
        if overran or (rc != 0 and "verdict: hang" in log.read_text(errors="replace")):
            entry["verdict"] = "hang"
        results.append(entry)
        if rc in (cli.EXIT_USAGE, cli.EXIT_HARNESS) and not overran:
            raise cli.HarnessError(f"zpool_stress {backend} could not run (exit {rc}); see {log}")
        if rc != 0:
            if overran:
                what = (f"zpool_stress {backend} (TSan): hang (still running at its deadline of "
                        f"{limit} s, {args.stress_seconds} s planned: stopped)")
            elif entry["verdict"] == "hang":
                what = (f"zpool_stress {backend} (TSan): hang (no progress for {args.hang_seconds} s; "
                        "the log says what every thread was doing)")
            else:
                what = f"zpool_stress {backend} (TSan) exit {rc}"
            findings.append({"phase": "stress", "what": what,
                             "kind": "hang" if entry["verdict"] == "hang" else "failure",
                             "reproducer": None,
                             "replay": " ".join(cmd[:-1]),
                             "log": str(log), "report": first_report_lines(log),
                             "command": cmd[:-1], "seed": args.seed, "threads": 4, "reclaimers": 2,
                             "backend": backend, "exit": rc, "detector": f"stress/tsan[{backend}]"})
        progress.phase_done(args.stress_seconds)
    runner.check()


def bench_phase(runner, args, progress, report):
    out = report / "bench"
    cmd = ["bench/run.sh", f"--{args.bench}", "--out", str(out)]
    if args.profile == "tiny":
        cmd += ["--reps", "1"]
    log = report / "bench.log"
    # the bench's planned time is a rough figure (a quick run takes about half
    # of it here), so its deadline allows twice that
    limit = deadline(2 * bench_seconds(args), args.hang_seconds)
    start = time.monotonic()
    with open(log, "w") as f:
        proc = runner.popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        overran = runner.wait_bounded(proc, limit, lambda: progress.show(
            "bench", f"{args.bench} profile", time.monotonic() - start, bench_seconds(args)))
    runner.child = None
    runner.check()
    return {"exit": proc.returncode, "command": " ".join(cmd), "dir": out, "log": log,
            "overran": overran, "limit": limit}


def bench_seconds(args):
    return {"off": 0, "quick": 60, "full": 600}[args.bench]


def merge_phase(runner, build, workdir, progress, hang_seconds):
    for target, _ in fuzz_targets():
        new_dirs = sorted((workdir / "fuzz").glob("*"))
        sources = [str(d / "corpus") for d in new_dirs
                   if d.name.split("-")[0] == target and (d / "corpus").is_dir()]
        if not sources:
            continue
        progress.say(f"[merge] {target}: new coverage into corpus/{target}")
        runner.run([str(build / "fuzz" / target), "-merge=1", f"-timeout={hang_seconds}",
                    str(ROOT / "corpus" / target)] + sources,
                   workdir / f"merge-{target}.log")


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_report(args, report, started, backends, fuzz, stress, bench, findings, interrupted, ran,
                 error=None, bugs=None):
    lines = [f"# zpool-harness campaign report", "",
             f"- started: {started:%Y-%m-%d %H:%M:%S} UTC; finished: "
             f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M:%S} UTC",
             f"- command: `{' '.join(['scripts/campaign.sh'] + sys.argv[1:])}`; "
             f"zpool-harness {cli.version()}, commit {cli.commit()}",
             f"- backends: {', '.join(backends)}; profile {args.profile}: fuzz {args.fuzz_seconds} s a target "
             f"on {args.jobs} processes, stress {args.stress_seconds} s a backend, bench {args.bench}",
             f"- machine: {machine()}",
             f"- phases run: {', '.join(ran) or 'none'}" + (" (stopped by Ctrl-C)" if interrupted else ""),
             f"- findings: **{len(findings)}**"]
    if error:
        lines.append(f"- **the harness failed**: {error}")
    lines.append("")
    lines += ["## Fuzzing", ""]
    if fuzz:
        lines.append(md_table(
            ["target", "runs", "exec/s", "cov (edges)", "features", "corpus before", "corpus after", "findings"],
            [[f["label"] + (" (stopped)" if f["stopped"] else "")
              + (" (stopped at its deadline: hang)" if f.get("overran") else ""),
              f["runs"], f["exec_per_sec"], f["cov"],
              f["ft"], f["corpus_before"], f["corpus_after"], f["findings"]] for f in fuzz]))
        lines.append(f"\nruns and exec/s count every process of a target ({args.jobs} with -fork), over its "
                     "wall time; cov (edges) and features as libFuzzer counts them.")
    else:
        lines.append("(not run)")
    lines += ["", "## Stress (ThreadSanitizer, fault injection on)", ""]
    if stress:
        rows = []
        for s in stress:
            ops = s.get("ops", {}).get("total", "?") if isinstance(s.get("ops"), dict) else s.get("ops", "?")
            rows.append([s["backend"], ops, s.get("evictions", "?"), s.get("evict_refusals", "?"),
                         s.get("injected_failures", s.get("injected_page_alloc_failures", "?")),
                         s.get("bytes_lost", "?"),
                         "passed" if s["exit"] == 0 else "HANG" if s.get("verdict") == "hang"
                         else f"FAILED (exit {s['exit']})"])
        lines.append(md_table(["backend", "ops", "evictions", "evict refusals survived",
                               "injected page-allocation failures survived", "bytes lost", "result"], rows))
        lines.append(f"\nCommand (per backend): `{stress[0]['command'].replace(str(ROOT) + '/', '')}`")
    else:
        lines.append("(not run)")
    lines += ["", "## Benchmarks", ""]
    pngs = []
    if bench and bench["exit"] == 0 and (bench["dir"] / "results.md").exists():
        lines.append(f"Command: `{bench['command']}`\n")
        lines.append((bench["dir"] / "results.md").read_text())
        for png in sorted(bench["dir"].glob("*.png")):
            rel = png.relative_to(report)
            pngs.append(png)
            lines.append(f"\n![{png.stem}]({rel})")
    elif bench:
        lines.append(f"bench failed (exit {bench['exit']}); log: {bench['log']}")
    else:
        lines.append("(not run)")
    if bugs:
        lines += ["", triage.markdown(bugs, args.findings)]
    lines += ["", "## Findings", ""]
    if not findings:
        lines.append("None.")
    for i, f in enumerate(findings, 1):
        lines += [f"### {i}. {f['phase']}: {f['what']}" + (f" (bug `{f['bug']}`)" if f.get("bug") else ""), "",
                  f"- reproducer: `{f['reproducer']}`" if f["reproducer"]
                  else f"- reproducer: the seed (`--seed {f['seed']}`) in the replay command" if f.get("seed")
                  else "- reproducer: none written",
                  f"- replay: `{f['replay']}`", f"- log: `{f['log']}`", "", "```"] + f["report"] + ["```", ""]
    text = "\n".join(lines) + "\n"
    (report / "summary.md").write_text(text)
    (report / "summary.html").write_text(to_html(text, report))
    return text


def write_summary_json(args, argv, report, started, finished, backends, fuzz, stress, bench,
                       findings, interrupted, phases, exit_status, error, bugs=None):
    """summary.json, as docs/summary-json.md describes it."""
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in ("check_args", "readme_excerpt")}
    doc = {
        "schema": SUMMARY_SCHEMA,
        "tool": "scripts/campaign.sh",
        "version": cli.version(),
        "commit": cli.commit(),
        "command": ["scripts/campaign.sh"] + list(argv),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round((finished - started).total_seconds(), 1),
        "machine": {"cpu": machine_cpu(), "cpus": os.cpu_count()},
        "settings": settings,
        "backends": backends,
        "phases": phases,
        "exit_status": exit_status,
        "interrupted": interrupted,
        "error": error,
        "findings": findings,
        "bugs": bugs or [],
        "fuzz": fuzz,
        "stress": stress,
        "bench": ({"exit": bench["exit"], "command": bench["command"], "dir": str(bench["dir"]),
                   "log": str(bench["log"])} if bench else None),
    }
    (report / "summary.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")


def machine_cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def machine():
    return f"{machine_cpu()}, {os.cpu_count()} CPUs"


def to_html(markdown, report):
    """A small Markdown subset to HTML; images are embedded so the page stands alone."""
    out, in_code, in_table = [], False, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
                out.append("<tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells) + "</tr>")
            else:
                out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        m = re.match(r"!\[(.*?)\]\((.*?)\)", line.strip())
        if m:
            data = base64.b64encode((report / m.group(2)).read_bytes()).decode()
            out.append(f'<p><img alt="{html.escape(m.group(1))}" src="data:image/png;base64,{data}"></p>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            out.append(f"<li>{inline(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    if in_table:
        out.append("</table>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #999;padding:2px 6px}pre{background:#eee;padding:6px;overflow:auto}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>zpool-harness campaign</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")


def inline(text):
    text = html.escape(text)
    text = re.sub(r"`(.*?)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*(.*?)\*\*", r"<b>\1</b>", text)


def readme_excerpt(report):
    """Splice the report's head, fuzzing and stress sections into README.md."""
    summary = (report / "summary.md").read_text()
    head = summary[summary.index("- started:"):summary.index("## Benchmarks")]
    head = head.replace("## ", "#### ")
    readme = ROOT / "README.md"
    text, n = re.subn(r"(<!-- campaign:begin -->\n).*?(<!-- campaign:end -->)",
                      lambda m: m.group(1) + head + m.group(2), readme.read_text(), flags=re.S)
    if n != 1:
        raise cli.HarnessError("README.md has no <!-- campaign:begin --> ... <!-- campaign:end -->")
    readme.write_text(text)


class Phases:
    """Per-phase status for the report: passed, found, failed, interrupted or skipped."""

    def __init__(self):
        self.list = []

    def start(self, name):
        self.list.append({"name": name, "status": "running", "seconds": 0.0, "_t": time.monotonic()})
        return self.list[-1]

    def end(self, status):
        p = self.list[-1]
        p["status"] = status
        p["seconds"] = round(time.monotonic() - p.pop("_t"), 1)

    def stop_running(self, status):
        if self.list and self.list[-1]["status"] == "running":
            self.end(status)

    def names(self):
        return [p["name"] for p in self.list]


def lock_folder(folder, what, shared=False):
    """Hold a lock on @folder for the life of the process, or stop (exit 3).

    Exclusive for a folder the campaign writes; shared for builds it only
    runs (--no-build), so that two such campaigns run side by side but
    neither runs while a third rebuilds the same folder.
    """
    try:
        f = open(folder / ".zpool-harness.lock", "a+")
    except OSError as e:
        if shared:
            return None  # a read-only builds folder: nobody can rebuild it either
        raise cli.HarnessError(f"cannot lock the {what} folder {folder}: {e.strerror}")
    try:
        fcntl.flock(f, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        raise cli.HarnessError(f"the {what} folder {folder} is in use by another campaign ({holder}); "
                               f"give this one its own folder (--{what} DIR)")
    if not shared:
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}\n")
        f.flush()
    return f


def check_builds(builds, backends):
    """With --no-build, the binaries the run needs must be there before anything runs."""
    targets = sorted({target for _, target, _ in fuzz_runs(backends)})
    need = [builds / "fuzz" / "fuzz" / t for t in targets] + [builds / "tsan" / "stress" / "zpool_stress"]
    missing = [str(b) for b in need if not os.access(b, os.X_OK)]
    if missing:
        raise cli.HarnessError(f"--no-build: {len(missing)} binaries missing under {builds} "
                               f"(first: {missing[0]}); build the fuzz and tsan presets there, "
                               "or drop --no-build")
    for preset in ("fuzz", "tsan"):
        held = build_backends(builds / preset)
        lacking = [b for b in backends if held is not None and b not in held]
        if lacking:
            raise cli.HarnessError(f"--no-build: the {preset} build under {builds} has no backend "
                                   f"{', '.join(lacking)}; configure it with -DZPOOL_EXTRA_BACKENDS "
                                   "or drop --no-build")


def main(argv):
    parser, args = parse_args(argv)
    report, workdir, builds = args.report, args.work, args.builds
    if args.readme_excerpt:
        if not (report / "summary.md").is_file():
            raise cli.UsageError(f"--readme-excerpt: no summary.md in {report}")
        if not args.check_args:
            readme_excerpt(report)
        return 0
    backends = args.backend or registered_backends(args.extra_backends)
    fuzz_build, tsan_build = builds / "fuzz", builds / "tsan"
    # Everything that can be checked without doing anything, checked before
    # campaign.sh installs packages (--check-args) and before any work.
    if args.no_build:
        check_builds(builds, backends)
    if report == workdir:
        raise cli.UsageError("--report and --work must be different folders")
    cli.check_dir(workdir)
    cli.check_dir(report)
    if args.check_args:
        return 0
    cli.own_dir(workdir, "scripts/campaign.sh")
    locks = [lock_folder(workdir, "work")]
    cli.own_dir(report, "scripts/campaign.sh")
    locks.append(lock_folder(report, "report"))
    cli.own_dir(report, "scripts/campaign.sh", clean=True)
    if not args.no_build:
        builds.mkdir(parents=True, exist_ok=True)
    locks.append(lock_folder(builds, "builds", shared=args.no_build))

    runner = Runner()
    started = datetime.datetime.utcnow()
    fuzz, stress, bench, findings, bugs = [], [], None, [], []
    phases = Phases()
    interrupted, error = False, None
    try:
        if not args.no_build:
            phases.start("build")
            build_presets(runner, ["fuzz", "tsan"], builds, report, Progress(0))
            phases.end("passed")
        nfuzz = len(fuzz_runs(backends))
        progress = Progress(nfuzz * args.fuzz_seconds + len(backends) * args.stress_seconds
                            + bench_seconds(args))
        for name, phase in (("fuzz", fuzz_phase), ("stress", stress_phase)):
            phases.start(name)
            before = len(findings)
            phase(runner, args, progress, fuzz_build if name == "fuzz" else tsan_build, backends,
                  workdir, findings, fuzz if name == "fuzz" else stress)
            phases.end("found" if len(findings) > before else "passed")
        if findings:
            phases.start("triage")
            bugs = triage.run(args, findings, fuzz_build, workdir, report, progress, merge=args.merge,
                              stop=lambda: runner.interrupted)
            runner.check()
            phases.end("found")
        if args.bench != "off":
            phases.start("bench")
            bench = bench_phase(runner, args, progress, report)
            if bench["overran"]:
                findings.append({"phase": "bench", "kind": "hang",
                                 "what": f"bench/run.sh: hang (still running at its deadline of "
                                         f"{bench['limit']} s: stopped)",
                                 "reproducer": None, "replay": bench["command"], "log": str(bench["log"]),
                                 "report": first_report_lines(bench["log"]), "detector": "bench"})
            elif bench["exit"] != 0:
                error = f"bench/run.sh exited {bench['exit']}; see {bench['log']}"
            phases.end("found" if bench["overran"] else "failed" if bench["exit"] != 0 else "passed")
        if args.merge:
            phases.start("merge")
            merge_phase(runner, fuzz_build, workdir, progress, args.hang_seconds)
            phases.end("passed")
        progress.say("")
    except Interrupted:
        interrupted = True
        phases.stop_running("interrupted")
    except cli.HarnessError as e:
        error = str(e)
        phases.stop_running("failed")
    if interrupted:
        status = cli.EXIT_INTERRUPTED
    elif findings:
        status = cli.EXIT_FINDING
    elif error:
        status = cli.EXIT_HARNESS
    else:
        status = cli.EXIT_OK
    finished = datetime.datetime.utcnow()
    write_report(args, report, started, backends, fuzz, stress, bench, findings,
                 interrupted, phases.names(), error, bugs)
    write_summary_json(args, argv, report, started, finished, backends, fuzz, stress, bench,
                       findings, interrupted, phases.list, status, error, bugs)
    sys.stderr.write(f"campaign: report in {report}/summary.md and summary.html; "
                     f"{len(findings)} finding(s)"
                     f"{f' of {len(bugs)} distinct bug(s)' if bugs else ''}"
                     f"{'; stopped by Ctrl-C' if interrupted else ''}"
                     f"{'; harness failure: ' + error if error else ''}\n")
    del locks
    return status


if __name__ == "__main__":
    cli.run("scripts/campaign.sh", main)
