#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""triage.py - the campaign's findings as bugs a kernel developer can act on.

A campaign's raw findings are crashing fuzz inputs (one per libFuzzer
artifact, many per bug) and failed stress runs. Triage turns them into
distinct bugs:

  signature   each finding is replayed on its own and keyed by what failed:
              the sanitizer's or the check's kind plus the top frames of the
              project's code (zpool/, backends/ first, then the harness), or
              the normalised message of a `zpool BUG:`, a model mismatch or
              a stress check; numbers and addresses are dropped, so the same
              bug found by another target, backend or fuzz process has the
              same key;
  grouping    one bug per key, with how many inputs hit it and which
              detectors (fuzz target and backend, stress under TSan);
  index       <findings>/index.json remembers every key ever seen, so a
              second campaign on the same findings folder says which bugs
              are new;
  minimizing  the smallest input of each bug is reduced, whole operations
              first (the decoder's trace gives their byte ranges), then
              byte ranges, keeping only cuts that fail with the same key;
  C program   the fuzz target's trace mode (fuzz/emit_c.c) turns the reduced
              input into a standalone C program that makes the same zpool
              calls; it is built against the installed package
              (find_package(zpool)) with the sanitizer and run, and the
              report says whether it fails the same way;
  stress      a failed stress run gets its seed, command and thread count,
              and is run again with the same seed to say whether it
              reproduces;
  regressions with --merge, each reduced reproducer goes into
              corpus/regressions/<target>/ (--regressions DIR), which ctest
              replays.

Used by scripts/campaign.py (add_arguments(), run(), markdown()); it also
runs alone on a campaign's summary.json:

  python3 scripts/triage.py --summary REPORT/summary.json [--findings DIR] ...
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
import cli  # noqa: E402  (scripts/lib/cli.py)

ROOT = Path(__file__).resolve().parent.parent
SANITIZER_ENV = {
    "ASAN_OPTIONS": "halt_on_error=1:abort_on_error=1:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}
FRAMES = 3  # top frames of the project's code in a signature
LIBRARY_DIRS = ("zpool/", "backends/")
HARNESS_DIRS = ("fuzz/", "stress/", "tests/")
MAX_REPLAYS = 200  # inputs replayed per campaign; the rest are counted unreplayed


seconds = cli.decimal(0)


def add_arguments(p):
    """The campaign's triage flags."""
    p.add_argument("--findings", metavar="DIR", type=cli.path,
                   help="findings folder: one subfolder per distinct bug and index.json, kept across "
                        "campaigns so that new bugs are told from known ones (default: WORK/findings)")
    p.add_argument("--regressions", metavar="DIR", type=cli.path,
                   help="with --merge, where each bug's reduced reproducer goes, one folder per fuzz "
                        "target (default: corpus/regressions)")
    p.add_argument("--minimize-seconds", type=seconds, default=30, metavar="N",
                   help="time to reduce each bug's reproducer (0: no reduction; default 30)")
    p.add_argument("--no-c-reproducer", action="store_true",
                   help="do not write, build and run a C program per fuzz bug")


# --------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+) (\S+?)(?::\d+)*(?: \(|$)")
TSAN_FRAME = re.compile(r"^\s*#(\d+) (\S+) (\S+?)(?::\d+)* \(")


def normalise(message):
    """A message without its numbers, addresses and slot/op indices."""
    m = re.sub(r"(?<![A-Za-z_])-?\d+(\.\d+)?", "N", re.sub(r"0x[0-9a-fA-F]+", "<addr>", message))
    return re.sub(r"\s+", " ", m).strip()


def project_frames(stack):
    """(function, file) frames of one stack that are in the project, library first."""
    frames = []
    for line in stack:
        m = FRAME.match(line) or TSAN_FRAME.match(line)
        if not m:
            continue
        func, path = m.group(2), m.group(3)
        try:
            rel = str(Path(path).resolve().relative_to(ROOT))
        except (ValueError, OSError):
            rel = None
        if rel is None:
            # a frame of another checkout of the project (a worktree, a clone)
            hit = re.search(r"/((?:zpool|backends|fuzz|stress|tests)/[^/]+\.[ch])$", path)
            rel = hit.group(1) if hit else None
        if rel and rel.startswith(LIBRARY_DIRS + HARNESS_DIRS):
            frames.append((func, rel))
    return frames


def top_frames(stack, n=FRAMES):
    """The top @n frames of the project's code: the library's, or else the harness's."""
    frames = project_frames(stack)
    lib = [f for f in frames if f[1].startswith(LIBRARY_DIRS)]
    return [f"{func} ({path})" for func, path in (lib or frames)[:n]]


def stacks(lines, start):
    """The stack traces from line @start on: lists of lines, split at blank lines."""
    out, cur = [], []
    for line in lines[start:]:
        if re.match(r"^\s*#\d+ ", line):
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
            if len(out) >= 2:
                break
    if cur:
        out.append(cur)
    return out


def signature(text, exit_code=None):
    """What failed in a log: {kind, detail, frames, key, title} or None if nothing did.

    kind is the detector's word for it (an ASan error type, `UBSan: <check>`,
    `TSan: data race`, `model mismatch`, `zpool BUG`, `stress check`, `timeout`,
    `leak`, `crash`); detail the normalised message where the kind alone does
    not say what broke; key what groups findings.
    """
    lines = text.splitlines()
    kind = detail = None
    frames = []
    for i, line in enumerate(lines):
        m = re.search(r"FUZZ MISMATCH \[[^\]]*\] op \d+ slot -?\d+: (.*)", line)
        if m:
            kind, detail = "model mismatch", normalise(m.group(1))
            break
        m = re.search(r"zpool BUG: (.*)", line)
        if m:
            kind, detail = "zpool BUG", normalise(m.group(1))
            frames = top_frames(sum(stacks(lines, i), [])[:40])
            break
        m = re.search(r"ERROR: AddressSanitizer: ([\w-]+)", line)
        if m:
            kind = f"ASan: {m.group(1)}"
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            acc = re.match(r"(READ|WRITE) of size", nxt)
            if acc:
                kind += f" {acc.group(1)}"
            st = stacks(lines, i)
            frames = top_frames(st[0] if st else [])
            break
        m = re.search(r"ERROR: LeakSanitizer: (.*)", line)
        if m:
            kind = "LeakSanitizer: leak"
            st = stacks(lines, i)
            frames = top_frames(st[0] if st else [])
            break
        m = re.search(r"runtime error: (.*)", line)
        if m:
            kind, detail = "UBSan", normalise(re.sub(r"'[^']*'", "T", m.group(1)))
            st = stacks(lines, i)
            frames = top_frames(st[0] if st else [])
            if not frames:
                src = re.match(r"^(\S+?):\d+:\d+: runtime error", line)
                if src:
                    frames = [normalise(src.group(1))]
            break
        m = re.search(r"WARNING: ThreadSanitizer: ([\w -]+?)(?: \(pid|$)", line)
        if m:
            kind = f"TSan: {m.group(1).strip()}"
            st = stacks(lines, i)
            # a race is the pair of accesses, in either order
            frames = sorted(set(sum((top_frames(s, 1) for s in st[:2]), [])))
            break
        if "zpool_stress: HANG" in line:
            # the stuck threads' calls, without slots and times: the same deadlock, however reached
            stuck = sorted({normalise(re.sub(r" on slot \d+", "", l.split(": ", 1)[1]))
                            for l in lines[i + 1:i + 300] if "STUCK for" in l and ": " in l})
            kind, detail = "hang", "; ".join(stuck) or normalise(line.split("HANG", 1)[1])
            break
        m = re.search(r"ERROR: libFuzzer: timeout|ran longer than the -timeout limit", line)
        if m:
            kind = "hang"
            st = stacks(lines, i)
            frames = top_frames(st[0] if st else [])
            break
        m = re.search(r"(?:ERROR: libFuzzer: out-of-memory|ERROR: AddressSanitizer: out of memory)", line)
        if m:
            kind = "out of memory"
            st = stacks(lines, i)
            frames = top_frames(st[0] if st else [])
            break
        # zpool_stress's threads may interleave their messages on one line
        m = re.search(r"zpool_stress: ((?:MISMATCH|FAIL) .*?)(?=zpool_stress:|$)", line) or \
            (exit_code not in (0, None) and re.search(r"^zpool_stress: (.*?)(?=zpool_stress:|$)", line))
        if m:
            # the message up to its context in parentheses: which slot, handle and bytes vary
            kind, detail = "stress check", normalise(m.group(1).split(" (")[0])
            break
        if line.startswith("C REPRODUCER HANG"):
            kind, detail = "hang", "the C reproducer hangs"
            break
        m = re.search(r"^C REPRODUCER FAIL: (.*)", line)
        if m:
            kind, detail = "C reproducer check", normalise(m.group(1))
            break
    if kind is None:
        for i, line in enumerate(lines):
            if "ERROR: libFuzzer: deadly signal" in line or "hang" in line.lower() and "ERROR" in line:
                kind = "crash" if "deadly" in line else "hang"
                st = stacks(lines, i)
                frames = top_frames(st[0] if st else [])
                break
    if kind is None:
        if exit_code in (0, None):
            return None
        kind, detail = "exit", f"exit status {exit_code}"
    key = " | ".join([kind] + ([detail] if detail else []) + frames)
    title = kind + (f": {detail}" if detail else "") + (f" in {frames[0]}" if frames else "")
    return {"kind": kind, "detail": detail, "frames": frames, "key": key, "title": title,
            "id": hashlib.sha1(key.encode()).hexdigest()[:10]}


NOISE = ("fuzzer::", "libc.so", "__sanitizer_print_stack_trace", "libc_start", "_start (",
         "NOTE: libFuzzer", "Combine libFuzzer", "pthread_kill", "raise signal", "abort stdlib")


def report_excerpt(text, limit=14):
    """The first lines of the report in a log: from the first line naming an error,
    without the frames of libFuzzer and the C library."""
    lines = [l for l in text.splitlines() if not any(n in l for n in NOISE)]
    markers = ("==ERROR", "ERROR: ", "runtime error", "zpool BUG", "MISMATCH", "WARNING: ThreadSanitizer",
               "zpool_stress: ", "C REPRODUCER FAIL")
    for i, line in enumerate(lines):
        if any(m in line for m in markers):
            return lines[i:i + limit]
    return lines[-limit:]


# --------------------------------------------------------------------------
# Replaying and reducing fuzz inputs
# --------------------------------------------------------------------------

class Replayer:
    """Runs one fuzz target on one input at a time, with the campaign's sanitizer settings.

    @frames False: the signature needs no stack (a model mismatch, a zpool BUG),
    so the sanitizers skip symbolizing, which is most of a failing run's time."""

    def __init__(self, binary, env, timeout=10, frames=True):
        self.binary = str(binary)
        self.env = dict(os.environ)
        self.env.update(SANITIZER_ENV)
        self.env.update(env or {})
        if not frames:
            for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
                self.env[k] += ":symbolize=0"
        # kept pools make an input depend on the ones run before it
        self.env["ZPOOL_FUZZ_FRESH_POOLS"] = "1"
        self.timeout = timeout
        self.runs = 0

    def run_file(self, path):
        self.runs += 1
        cmd = [self.binary, f"-timeout={self.timeout}", str(path)]
        try:
            p = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=self.timeout + 15, cwd=ROOT)
            return p.returncode, p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            return -9, out + "\nERROR: libFuzzer: timeout (killed by triage)\n"

    def signature_of(self, data, scratch):
        scratch.write_bytes(data)
        rc, out = self.run_file(scratch)
        return signature(out, rc)


def trace_c(binary, env, path, out, title="-", target="-", timeout=10):
    """Run @binary on one input in its trace mode (fuzz/emit_c.h): the C program to @out.

    Returns the program's text, or None if the target wrote none."""
    e = dict(os.environ)
    e.update(SANITIZER_ENV)
    e.update(env or {})
    e.update({"ZPOOL_FUZZ_EMIT_C": str(out), "ZPOOL_FUZZ_EMIT_TITLE": title,
              "ZPOOL_FUZZ_EMIT_INPUT": Path(path).name, "ZPOOL_FUZZ_EMIT_TARGET": target,
              "ZPOOL_FUZZ_FRESH_POOLS": "1"})
    Path(out).unlink(missing_ok=True)
    try:
        # a hang ends at -timeout, with the program written up to the call that hung
        subprocess.run([str(binary), "-runs=1", f"-timeout={timeout}", str(path)], env=e,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout + 30, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    text = Path(out).read_text(errors="replace") if Path(out).exists() else ""
    return text if "int main(" in text else None


def op_ranges(binary, env, path):
    """The byte range [start, end) of each operation the input decodes to, from its trace."""
    text = trace_c(binary, env, path, Path(str(path) + ".c")) or ""
    return [(int(a), int(b)) for a, b in re.findall(r"/\* op \d+: input bytes (\d+)-(\d+) \*/", text)]


def reduce_input(replayer, data, key, scratch, seconds, binary=None, env=None):
    """The smallest input found within @seconds that still fails with @key.

    Delta debugging, twice: first over whole operations (their byte ranges
    from the target's trace), dropping blocks of half, a quarter, ... of
    them, then over bytes the same way; last, each byte left is tried as 0.
    Every candidate is replayed; only a cut that keeps the signature stays.
    """
    deadline = time.monotonic() + seconds
    best = bytes(data)

    def same(candidate):
        sig = replayer.signature_of(candidate, scratch)
        return sig is not None and sig["key"] == key

    def out_of_time():
        return time.monotonic() > deadline

    scratch.write_bytes(best)
    ranges = op_ranges(binary, env, scratch) if binary else []
    k = max(1, len(ranges) // 2)
    while ranges and k >= 1 and not out_of_time():
        i, cut = 0, False
        while i < len(ranges) and not out_of_time():
            start, end = ranges[i][0], ranges[min(i + k, len(ranges)) - 1][1]
            cand = best[:start] + best[end:]
            if same(cand):
                # the operations after the cut decode from the same bytes, shifted
                best, cut, n = cand, True, end - start
                ranges = ranges[:i] + [(a - n, b - n) for a, b in ranges[i + k:]]
            else:
                i += k
        if not cut:
            k //= 2
    # Byte ranges, halving.
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and not out_of_time():
        i, cut = 0, False
        while i < len(best) and not out_of_time():
            cand = best[:i] + best[i + chunk:]
            if cand and same(cand):
                best, cut = cand, True
            else:
                i += chunk
        if not cut:
            chunk //= 2
    # Then make the remaining bytes as plain as they can be (0), one at a time.
    for i in range(len(best)):
        if out_of_time():
            break
        if best[i] != 0:
            cand = best[:i] + b"\0" + best[i + 1:]
            if same(cand):
                best = cand
    return best


# --------------------------------------------------------------------------
# C reproducers
# --------------------------------------------------------------------------

def emit_c(binary, env, path, out, title, target, timeout=10):
    """The C program of one input, from the target's trace mode, or (None, why)."""
    text = trace_c(binary, env, path, out, title, target, timeout)
    if text is None:
        return None, "the target wrote no program in its trace mode (ZPOOL_FUZZ_EMIT_C)"
    return text, None


CONSUMER_CMAKE = """# Builds each reproducer against the installed zpool package, as a user would.
cmake_minimum_required(VERSION 3.25)
project(zpool-reproducers C)
find_package(zpool REQUIRED)
foreach(src IN LISTS REPRODUCERS)
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE zpool::zpool)
endforeach()
"""

STANDALONE_CMAKE = """# Build against an installed zpool package:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<prefix> -DCMAKE_C_COMPILER=clang \\
#         -DCMAKE_C_FLAGS=-fsanitize=address,undefined && cmake --build build && build/repro
cmake_minimum_required(VERSION 3.25)
project(zpool-repro C)
find_package(zpool REQUIRED)
add_executable(repro repro.c)
target_link_libraries(repro PRIVATE zpool::zpool)
"""


def sanitize_flags(build):
    """The -fsanitize= flags the build under test was made with (a consumer must match)."""
    cache = Path(build) / "CMakeCache.txt"
    san, fuzz = "", False
    if cache.exists():
        for line in cache.read_text(errors="replace").splitlines():
            if line.startswith("ZPOOL_SANITIZE:"):
                san = line.split("=", 1)[1]
            if line.startswith("ZPOOL_FUZZ:") and line.split("=", 1)[1].upper() in ("ON", "1", "TRUE"):
                fuzz = True
    flags = [f"-fsanitize={san}"] if san else []
    if fuzz:
        # the library carries libFuzzer's coverage hooks: the sanitizer runtime defines them
        flags.append("-fsanitize=fuzzer-no-link")
    return " ".join(flags), san


def build_c_programs(build, workdir, programs, log):
    """Install @build into a prefix and build @programs ({name: source path}) against it.

    Returns {name: executable or None}, the sanitizer, the prefix.
    """
    prefix = workdir / "prefix"
    cbuild = workdir / "cbuild"
    shutil.rmtree(prefix, ignore_errors=True)
    shutil.rmtree(cbuild, ignore_errors=True)
    flags, san = sanitize_flags(build)
    src = workdir / "csrc"
    src.mkdir(parents=True, exist_ok=True)
    (src / "CMakeLists.txt").write_text(CONSUMER_CMAKE)
    compiler = "clang"
    cache = Path(build) / "CMakeCache.txt"
    if cache.exists():
        m = re.search(r"^CMAKE_C_COMPILER:\w+=(.*)$", cache.read_text(errors="replace"), re.M)
        if m:
            compiler = m.group(1)
    with open(log, "a") as out:
        steps = [
            ["cmake", "--install", str(build), "--prefix", str(prefix)],
            ["cmake", "-S", str(src), "-B", str(cbuild), "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}",
             f"-DCMAKE_C_COMPILER={compiler}", f"-DCMAKE_C_FLAGS={flags} -g -fno-omit-frame-pointer",
             f"-DCMAKE_EXE_LINKER_FLAGS={flags}",
             "-DREPRODUCERS=" + ";".join(str(p) for p in programs.values())],
            ["cmake", "--build", str(cbuild), "-j", "2", "--", "-k", "0"],
        ]
        for cmd in steps:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
            if rc != 0 and cmd[1] != "--build":
                return {n: None for n in programs}, san, prefix
    exes = {}
    for name, path in programs.items():
        exe = cbuild / Path(path).stem
        exes[name] = exe if exe.exists() else None
    return exes, san, prefix


def run_c_program(exe, timeout=60):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    try:
        p = subprocess.run([str(exe)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return -9, (e.stdout or b"").decode(errors="replace") + \
            f"\nC REPRODUCER HANG: still running after {timeout} s\n"


# --------------------------------------------------------------------------
# The findings index
# --------------------------------------------------------------------------

class Index:
    """<findings>/index.json: every bug key ever seen, when first and last, how often."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / "index.json"
        self.bugs = {}
        if self.path.exists():
            try:
                self.bugs = json.loads(self.path.read_text()).get("bugs", {})
            except ValueError:
                # a damaged index is kept aside, not lost
                self.path.rename(self.path.with_suffix(".json.damaged"))
        self.known = set(self.bugs)

    def record(self, bug, now):
        entry = self.bugs.setdefault(bug["id"], {"key": bug["key"], "title": bug["title"],
                                                 "first_seen": now, "campaigns": 0, "inputs": 0})
        entry["last_seen"] = now
        entry["campaigns"] += 1
        entry["inputs"] += bug["inputs"]
        entry["detectors"] = sorted(set(entry.get("detectors", [])) | set(bug["detectors"]))
        return bug["id"] not in self.known

    def save(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"schema": 1, "bugs": self.bugs}, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)


# --------------------------------------------------------------------------
# The triage of one campaign
# --------------------------------------------------------------------------

def unpinned(data, finding, key, scratch):
    """@data as an input that fails alone, without ZPOOL_FUZZ_BACKEND (as ctest replays
    the regressions): its backend byte made to name the pinned backend, if that keeps
    the signature."""
    env = dict(finding.get("env") or {})
    backend = env.pop("ZPOOL_FUZZ_BACKEND", None)
    if not backend or not data:
        return data
    names = re.findall(r"^ZPOOL_BACKEND\((\w+)\)", (ROOT / "backends/backends.def").read_text(), re.M)
    if backend not in names:
        return data
    cand = bytes([names.index(backend)]) + data[1:]
    sig = Replayer(finding["binary"], env).signature_of(cand, scratch)
    return cand if sig and sig["key"] == key else data


def say(progress, text):
    if progress is not None:
        progress.say(text)
    else:
        sys.stderr.write(text + "\n")


def triage_fuzz(findings, progress, scratch):
    """Replay each fuzz finding alone and compute its signature."""
    replayed = 0
    for f in findings:
        if f.get("phase") != "fuzz" or not f.get("reproducer") or not f.get("binary"):
            continue
        if replayed >= MAX_REPLAYS:
            f["signature"] = None
            continue
        replayed += 1
        rp = Replayer(f["binary"], f.get("env"), f.get("timeout", 25))
        rc, out = rp.run_file(f["reproducer"])
        sig = signature(out, rc)
        f["replay_exit"] = rc
        if sig is None:
            # it failed inside the campaign (kept pools, or another input before
            # it in the same process) but not alone
            sig = signature(Path(f["log"]).read_text(errors="replace") if f.get("log") else "", 1) \
                or {"kind": "crash", "detail": None, "frames": [], "key": "crash"}
            sig = dict(sig)
            sig["key"] = "does not fail alone | " + sig["key"]
            sig["title"] = "fails only inside the campaign's process: " + sig.get("title", sig["kind"])
            sig["id"] = hashlib.sha1(sig["key"].encode()).hexdigest()[:10]
            f["reproduces_alone"] = False
        else:
            f["reproduces_alone"] = True
            f["report"] = report_excerpt(out)
        f["signature"] = sig


def rerun_stress(finding, timeout_extra=60):
    """Run a stress command again (same seed) and return its signature."""
    cmd = finding["command"]
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    secs = 60
    if "--seconds" in cmd:
        secs = int(cmd[cmd.index("--seconds") + 1])
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=secs + timeout_extra, cwd=ROOT)
        return signature(p.stderr.decode(errors="replace"), p.returncode), p.returncode
    except subprocess.TimeoutExpired:
        return {"kind": "hang", "key": "hang", "title": "hang"}, -9


def run(args, findings, fuzz_build, workdir, report, progress=None, merge=False, stop=lambda: False):
    """Triage the campaign's @findings; returns the list of distinct bugs.

    Writes <findings>/<id>/ (reproducer, reduced input, repro.c, its
    CMakeLists.txt, report.txt) for each bug, updates <findings>/index.json,
    and with @merge copies each reduced reproducer into the regressions.
    Adds "bug" (the id) to each finding.
    """
    folder = Path(args.findings) if getattr(args, "findings", None) else Path(workdir) / "findings"
    folder = folder if folder.is_absolute() else (Path.cwd() / folder)
    regressions = Path(args.regressions) if getattr(args, "regressions", None) else ROOT / "corpus" / "regressions"
    minimize_s = getattr(args, "minimize_seconds", 30)
    want_c = not getattr(args, "no_c_reproducer", False)
    folder.mkdir(parents=True, exist_ok=True)
    scratch_dir = Path(workdir) / "triage"
    shutil.rmtree(scratch_dir, ignore_errors=True)
    scratch_dir.mkdir(parents=True)
    index = Index(folder)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    say(progress, f"[triage] replaying {sum(1 for f in findings if f.get('phase') == 'fuzz')} fuzz finding(s)")
    triage_fuzz(findings, progress, scratch_dir / "input")

    for f in findings:
        if f.get("phase") == "fuzz" and f.get("reproducer"):
            continue
        text = Path(f["log"]).read_text(errors="replace") if f.get("log") and Path(f["log"]).exists() else ""
        sig = signature(text, f.get("exit", 1))
        if sig is None:
            sig = {"kind": f.get("kind") or f.get("phase", "finding"), "detail": normalise(f.get("what", "")),
                   "frames": []}
            sig["key"] = f"{sig['kind']} | {sig['detail']}"
            sig["title"] = f"{sig['kind']}: {sig['detail']}"
            sig["id"] = hashlib.sha1(sig["key"].encode()).hexdigest()[:10]
        f["signature"] = sig

    groups = {}
    for f in findings:
        sig = f.get("signature")
        if not sig:
            continue
        g = groups.setdefault(sig["key"], {"id": sig["id"], "key": sig["key"], "title": sig["title"],
                                           "kind": sig["kind"], "frames": sig.get("frames", []),
                                           "findings": []})
        g["findings"].append(f)
        f["bug"] = sig["id"]

    bugs = []
    c_programs = {}
    for key, g in groups.items():
        if stop():
            break
        fs = g["findings"]
        detectors = sorted({f.get("detector") or f.get("what", "?") for f in fs})
        bug = {"id": g["id"], "key": key, "title": g["title"], "kind": g["kind"], "frames": g["frames"],
               "inputs": len(fs), "detectors": detectors,
               "phases": sorted({f.get("phase", "?") for f in fs})}
        bug["new"] = index.record(bug, now)
        bdir = folder / bug["id"]
        bdir.mkdir(parents=True, exist_ok=True)
        bug["dir"] = str(bdir)
        fuzzed = [f for f in fs if f.get("phase") == "fuzz" and f.get("reproducer")
                  and Path(f["reproducer"]).exists()]
        if fuzzed:
            rep = min(fuzzed, key=lambda f: (not f.get("reproduces_alone"), Path(f["reproducer"]).stat().st_size))
            data = Path(rep["reproducer"]).read_bytes()
            shutil.copy(rep["reproducer"], bdir / "reproducer")
            bug.update({"target": rep["target"], "binary": rep["binary"], "env": rep.get("env") or {},
                        "reproducer": str(bdir / "reproducer"), "size": len(data),
                        "report": rep.get("report", [])})
            rp = Replayer(rep["binary"], rep.get("env"), rep.get("timeout", 25))
            small = data
            if g["kind"] in ("timeout", "hang"):
                bug["minimize_skipped"] = "a hang costs the whole timeout per try"
            elif rep.get("reproduces_alone") and minimize_s > 0:
                say(progress, f"[triage] {bug['id']}: reducing {len(data)} bytes ({minimize_s} s at most)")
                t0 = time.monotonic()
                fast = Replayer(rep["binary"], rep.get("env"), rep.get("timeout", 10), frames=bool(g["frames"]))
                small = reduce_input(fast, data, key, scratch_dir / f"{bug['id']}.cand", minimize_s,
                                     rep["binary"], rep.get("env"))
                rp.runs += fast.runs
                bug["minimize_seconds"] = round(time.monotonic() - t0, 1)
                bug["minimize_runs"] = rp.runs
            (bdir / "minimized").write_bytes(small)
            sig = rp.signature_of(small, scratch_dir / "check")
            bug["minimized"] = str(bdir / "minimized")
            bug["minimized_size"] = len(small)
            bug["minimized_fails_same"] = bool(sig and sig["key"] == key)
            env_s = " ".join(f"{k}={v}" for k, v in sorted(bug["env"].items()))
            bug["replay"] = (env_s + " " if env_s else "") + f"{rep['binary']} {bdir / 'minimized'}"
            if want_c and rep.get("reproduces_alone"):
                text, why = emit_c(rep["binary"], rep.get("env"), bdir / "minimized", bdir / "repro.c",
                                   bug["title"], rep["target"], rep.get("timeout") or 10)
                bug["timeout"] = rep.get("timeout") or 10
                if text:
                    src = scratch_dir / "csrc" / f"repro_{bug['id']}.c"
                    src.parent.mkdir(parents=True, exist_ok=True)
                    src.write_text(text)
                    (bdir / "CMakeLists.txt").write_text(STANDALONE_CMAKE)
                    bug["c_program"] = str(bdir / "repro.c")
                    bug["c_lines"] = text.count("\n")
                    c_programs[bug["id"]] = src
                else:
                    bug["c_program_error"] = why
            if merge and bug["minimized_fails_same"]:
                dest = regressions / rep["target"]
                dest.mkdir(parents=True, exist_ok=True)
                out = dest / f"triage-{bug['id']}"
                if not out.exists():
                    out.write_bytes(unpinned(small, rep, key, scratch_dir / "unpinned"))
                bug["regression"] = str(out)
        stressed = [f for f in fs if f.get("phase") == "stress" and f.get("command")]
        if stressed:
            s = stressed[0]
            cmd = s["command"]
            bug.update({"command": " ".join(cmd), "seed": s.get("seed"), "threads": s.get("threads"),
                        "reclaimers": s.get("reclaimers"), "backend": s.get("backend"),
                        "report": report_excerpt(Path(s["log"]).read_text(errors="replace"))
                        if s.get("log") and Path(s["log"]).exists() else []})
            say(progress, f"[triage] {bug['id']}: running the stress command again with seed {s.get('seed')}")
            sig, rc = rerun_stress(s)
            bug["rerun_exit"] = rc
            bug["rerun_title"] = sig["title"] if sig else None
            bug["reproduces"] = bool(sig and sig["key"] == key)
            bug["reproduces_kind"] = bool(sig and sig["kind"] == bug["kind"])
        (bdir / "report.txt").write_text("\n".join(bug.get("report", [])) + "\n")
        bugs.append(bug)

    if c_programs:
        say(progress, f"[triage] building {len(c_programs)} C reproducer(s) against the installed package")
        log = scratch_dir / "c-build.log"
        exes, san, prefix = build_c_programs(fuzz_build, scratch_dir, c_programs, log)
        for bug in bugs:
            if bug["id"] not in c_programs:
                continue
            exe = exes.get(bug["id"])
            bug["c_sanitizer"] = san or "none"
            if not exe:
                bug["c_result"] = f"did not build (see {log})"
                continue
            # a hang's program hangs too: give it the finding's limit, not a minute
            rc, out = run_c_program(exe, bug["timeout"] + 5 if bug["kind"] in ("hang", "timeout") else 60)
            sig = signature(out, rc)
            bug["c_exit"] = rc
            bug["c_failure"] = sig["title"] if sig else None
            bug["c_fails"] = rc != 0
            bug["c_same_kind"] = bool(sig and sig["kind"] == bug["kind"]) or \
                bool(sig and bug["kind"] == "model mismatch" and sig["kind"] == "C reproducer check")
            (Path(bug["dir"]) / "repro.log").write_text(out)
            bug["c_result"] = (f"fails (exit {rc}): {sig['title']}" if rc != 0 and sig
                               else f"fails (exit {rc})" if rc != 0 else "passes: does not reproduce")
    index.save()
    (folder / "last-campaign.json").write_text(json.dumps(bugs, indent=2, default=str) + "\n")
    return bugs


def markdown(bugs, findings_dir=None):
    """The report's section on distinct bugs."""
    if not bugs:
        return ""
    new = sum(b["new"] for b in bugs)
    lines = ["## Distinct bugs", "",
             f"{len(bugs)} distinct bug(s) from {sum(b['inputs'] for b in bugs)} finding(s); "
             f"{new} new, {len(bugs) - new} already in the findings index"
             + (f" (`{findings_dir}/index.json`)" if findings_dir else "") + ".", "",
             "| bug | new | what | inputs | detectors | reproducer (bytes) | minimized (bytes) | C program |",
             "|---|---|---|---|---|---|---|---|"]
    for b in bugs:
        c = b.get("c_result") or b.get("c_program_error") or ("-" if "target" not in b else "not made")
        mini = "-"
        if "minimized_size" in b:
            mini = f"{b['minimized_size']}" + ("" if b["minimized_fails_same"] else " (differs!)")
        lines.append(f"| `{b['id']}` | {'**new**' if b['new'] else 'known'} | {b['title'].replace('|', '/')} "
                     f"| {b['inputs']} | {', '.join(b['detectors'])} | {b.get('size', '-')} | {mini} | {c} |")
    lines.append("")
    for b in bugs:
        lines += [f"### `{b['id']}`: {b['title']}", "", f"- signature: `{b['key']}`",
                  f"- folder: `{b['dir']}`"]
        if "target" in b:
            lines.append(f"- fuzz target: {b['target']}; reproducer {b['size']} bytes, minimized to "
                         f"{b['minimized_size']} bytes"
                         + (f" in {b['minimize_seconds']} s ({b['minimize_runs']} runs)"
                            if "minimize_seconds" in b else "")
                         + (f" (not reduced: {b['minimize_skipped']})" if b.get("minimize_skipped") else "")
                         + ("; the minimized input fails the same way" if b["minimized_fails_same"]
                            else "; the minimized input does NOT fail the same way"))
            lines.append(f"- replay: `{b['replay']}`")
            if b.get("c_program"):
                lines.append(f"- C program: `{b['c_program']}` ({b['c_lines']} lines; build it with the "
                             f"`CMakeLists.txt` beside it against the installed package), built with "
                             f"-fsanitize={b.get('c_sanitizer', '?')}: {b.get('c_result', 'not run')}")
            elif b.get("c_program_error"):
                lines.append(f"- C program: not made: {b['c_program_error']}")
            if b.get("regression"):
                lines.append(f"- regression input: `{b['regression']}`")
        if "command" in b:
            lines.append(f"- stress: backend {b['backend']}, seed {b['seed']}, {b['threads']} owner threads"
                         f" and {b['reclaimers']} reclaimers; command: `{b['command']}`")
            if b.get("reproduces"):
                again = "reproduces (same signature)"
            elif b.get("reproduces_kind"):
                again = f"fails again, first as: {b.get('rerun_title')} (threads interleave differently)"
            else:
                again = f"does not reproduce ({b.get('rerun_title') or 'exit ' + str(b.get('rerun_exit'))})"
            lines.append(f"- run again with the same seed (exit {b.get('rerun_exit')}): {again}")
        if b.get("report"):
            lines += ["", "```"] + b["report"] + ["```"]
        lines.append("")
    return "\n".join(lines)


def check_c(build, findings, workdir):
    """Build every bug's repro.c in @findings against @build's install and run each.

    Prints one line per program; returns 0 if every program passes, 1 if one
    fails, 3 if one does not build."""
    programs = {d.name: d / "repro.c" for d in sorted(Path(findings).iterdir()) if (d / "repro.c").is_file()}
    if not programs:
        sys.stderr.write(f"triage: no repro.c under {findings}\n")
        return 3
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    srcs = {}
    for name, path in programs.items():
        srcs[name] = workdir / "csrc" / f"repro_{name}.c"
        srcs[name].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, srcs[name])
    exes, san, _ = build_c_programs(build, workdir, srcs, workdir / "c-build.log")
    status = 0
    for name in programs:
        if not exes[name]:
            print(f"{name}: does not build against {build} (see {workdir / 'c-build.log'})")
            status = 3
            continue
        rc, out = run_c_program(exes[name])
        sig = signature(out, rc)
        if rc == 0:
            print(f"{name}: passes against {build} (-fsanitize={san or 'none'})")
        else:
            print(f"{name}: FAILS against {build} (exit {rc}): {sig['title'] if sig else '?'}")
            status = max(status, 1)
    return status


def main(argv):
    p = cli.Parser(
        "scripts/triage.py",
        description="Triage a campaign's findings again (--summary), or build and run every bug's C "
                    "reproducer against a build (--check-c). Exit: 0 nothing found / every program "
                    "passes, 1 a bug / a program fails, 2 usage, 3 a program does not build.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--summary", type=cli.path, metavar="FILE", help="a campaign's summary.json")
    what.add_argument("--check-c", type=cli.path, metavar="BUILD",
                      help="a CMake build folder: install it, build each <findings>/<bug>/repro.c "
                           "against it (with its sanitizers) and run it")
    p.add_argument("--work", default="work", type=cli.path, help="scratch folder (default: work/)")
    p.add_argument("--builds", default="build", type=cli.path, help="folder of the fuzz/ preset build")
    p.add_argument("--merge", action="store_true", help="copy reduced reproducers into the regressions")
    add_arguments(p)
    args = p.parse_args(argv)
    if args.check_c:
        if not args.findings:
            raise cli.UsageError("--check-c needs --findings DIR")
        if not (args.check_c / "CMakeCache.txt").is_file():
            raise cli.UsageError(f"--check-c: {args.check_c} is not a CMake build folder")
        cli.own_dir(args.work, "scripts/triage.py")  # its check-c/ is emptied
        return check_c(args.check_c, args.findings, args.work / "check-c")
    try:
        doc = json.loads(Path(args.summary).read_text())
    except (OSError, ValueError) as e:
        raise cli.UsageError(f"--summary: cannot read {args.summary}: {e}")
    cli.own_dir(args.work, "scripts/triage.py")  # its triage/, prefix/, cbuild/ are emptied
    findings = doc.get("findings", [])
    bugs = run(args, findings, Path(args.builds).resolve() / "fuzz", Path(args.work).resolve(),
               Path(args.summary).parent, merge=args.merge)
    print(markdown(bugs, args.findings))
    return 1 if bugs else 0


if __name__ == "__main__":
    cli.run("scripts/triage.py", main)
