# SPDX-License-Identifier: GPL-2.0-only
"""cli.py - what every Python tool of the harness shares (scripts/lib/cli.sh
is the same for the shell tools; docs/exit-codes.md is the scheme).

- EXIT_*: 0 nothing found, 1 a finding, 2 usage, 3 harness failure,
  130 interrupted;
- Parser: argparse with exit 2 on a usage error and --version;
- decimal(): numbers are decimal ("010" is 10, "0x10" and "-1" refused);
- path(): relative paths are taken from the caller's working directory;
- own_dir(): a tool deletes only what it made: a folder it creates gets a
  marker file, a non-empty folder without it is refused (exit 2);
- run(): no traceback reaches the user: a harness error is one line and
  exit 3 (ZPOOL_DEBUG=1 shows the traceback), Ctrl-C is exit 130.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

EXIT_OK, EXIT_FINDING, EXIT_USAGE, EXIT_HARNESS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
MARKER = ".zpool-harness-owned"
ROOT = Path(__file__).resolve().parent.parent.parent
CWD = Path.cwd()


class UsageError(Exception):
    """Bad flags, values or input files: exit 2, before any work."""


class HarnessError(Exception):
    """The harness itself failed (a build, the environment, a missing input): exit 3."""


def version_string():
    """'VERSION, commit HASH[-dirty]' of the checkout this file is in."""
    m = re.search(r"^project\(zpool-harness VERSION ([0-9.]+)",
                  (ROOT / "CMakeLists.txt").read_text(), re.M)
    commit = "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True).stdout
        if dirty.strip():
            commit += "-dirty"
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{m.group(1) if m else 'unknown'}, commit {commit}"


def commit():
    """The commit hash alone (with -dirty), or 'unknown'."""
    return version_string().split("commit ", 1)[1]


def version():
    m = re.search(r"^project\(zpool-harness VERSION ([0-9.]+)",
                  (ROOT / "CMakeLists.txt").read_text(), re.M)
    return m.group(1) if m else "unknown"


class Parser(argparse.ArgumentParser):
    """argparse with --version, help on stdout and exit 2 on a usage error."""

    def __init__(self, prog, **kw):
        kw.setdefault("epilog", "Exit status: 0 nothing found, 1 a finding, 2 usage error, "
                                "3 harness failure, 130 interrupted (docs/exit-codes.md).")
        super().__init__(prog=prog, **kw)
        self.add_argument("--version", action="version",
                          version=f"{prog} (zpool-harness) {version_string()}")

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(EXIT_USAGE)


def decimal(minimum=0, maximum=None):
    """An argparse type: a decimal whole number in [minimum, maximum]."""
    def parse(text):
        if not re.fullmatch(r"[0-9]+", text):
            raise argparse.ArgumentTypeError(f"'{text}' is not a decimal number")
        value = int(text, 10)
        if value < minimum or (maximum is not None and value > maximum):
            top = "" if maximum is None else str(maximum)
            raise argparse.ArgumentTypeError(f"'{text}' is out of range {minimum}..{top}")
        return value
    return parse


def path(text):
    """@text as an absolute path, relative ones taken from the caller's working directory."""
    p = Path(text).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else CWD / p))


def check_dir(folder):
    """Raise UsageError unless own_dir(@folder) would accept it; creates nothing."""
    folder = Path(folder)
    real = Path(os.path.realpath(folder))
    if real in (ROOT, Path.home(), Path("/")) or ROOT / "corpus" in (real, *real.parents):
        raise UsageError(f"'{folder}' is the checkout, corpus/ or the home folder: "
                         "give a folder of its own")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"'{folder}' exists and is not a folder")
    # The checkout's build/ and the campaign's default report/ and work/
    # (all git-ignored for the tools) are the tools' own: folders there made
    # before markers existed are taken as theirs.
    in_build = ROOT / "build" in real.parents or real in (ROOT / "report", ROOT / "work")
    if folder.is_dir() and not in_build and not (folder / MARKER).exists() and any(folder.iterdir()):
        raise UsageError(f"'{folder}' is not empty and was not made by a zpool-harness tool "
                         f"(no {MARKER} in it); give a new or empty folder")


def own_dir(folder, tool, clean=False):
    """Make @folder the tool's own (see the module comment); with @clean, empty it."""
    folder = Path(folder)
    check_dir(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        if not marker.exists():
            marker.write_text(f"made by {tool} on {datetime.datetime.utcnow():%Y-%m-%d %H:%M:%S} "
                              "UTC; zpool-harness tools may empty this folder\n")
        if clean:
            import shutil
            for entry in folder.iterdir():
                if entry.name.startswith(".zpool-harness"):  # the marker, a lock
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    except OSError as e:
        raise HarnessError(f"cannot prepare '{folder}': {e.strerror}")
    return folder


def run(prog, main, argv=None):
    """sys.exit(main(argv)) with the exit-code scheme and no traceback."""
    try:
        rc = main(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        sys.stderr.write(f"{prog}: {e} (see {prog} --help)\n")
        rc = EXIT_USAGE
    except HarnessError as e:
        sys.stderr.write(f"{prog}: {e}\n")
        rc = EXIT_HARNESS
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        rc = EXIT_INTERRUPTED
    except SystemExit:
        raise
    except BaseException as e:  # a bug of the harness: one line, the traceback on demand
        if os.environ.get("ZPOOL_DEBUG") == "1":
            traceback.print_exc()
        sys.stderr.write(f"{prog}: internal error: {type(e).__name__}: {e} "
                         "(a bug of the harness; ZPOOL_DEBUG=1 shows where)\n")
        rc = EXIT_HARNESS
    sys.exit(rc)
