"""Run the pitfall demonstrations and keep their output, normalised, in captures/.

    python -m tools.capture                  rewrite every captures/<name>.txt
    python -m tools.capture reloader-naive   rewrite only the captures named
    python -m tools.capture --check          compare instead; exit 1 with a diff if they differ

The docs include these files, so a page shows what the code really printed.
Normalising replaces what changes from run to run (process ids, temporary
paths, ports, timings, addresses) with placeholders. The first line names the
versions the output was produced with; it is information for the reader, and
``--check`` leaves it out of the comparison, so any Python 3.11+ can run it.
A few figures depend on timing (how many of 60 requests failed, how many
seconds a request waited); the page shows the figure of the captured run, the
check compares those lines with the figure masked, and judges the committed
figure with the demonstration's own test rules (pitfalls/tests, CAPTURE_RULES):
the naive variant must fail, the fix must not, a wait must last the timeout.
``--check`` also fails when no page under docs/ includes a capture.
"""

from __future__ import annotations

import argparse
import difflib
import platform
import re
import sqlite3
import sys
import traceback
from importlib import metadata
from pathlib import Path

from pitfalls import DEMOS, run_demo
from pitfalls.tests import test_slow_clients, test_sqlite_locks

ROOT = Path(__file__).resolve().parent.parent

CAPTURES = ROOT / "captures"
DOCS = ROOT / "docs"
PACKAGES = ("Flask", "Werkzeug", "SQLAlchemy", "Flask-SQLAlchemy")
# (pattern, replacement), applied in this order. The demonstrations print
# outcomes rather than durations; a duration or an address printed one day
# must not make every run differ.
FIXED = [
    (re.compile(r"[^\s\"']*/site-packages/"), "<site-packages>/"),
    (re.compile(r"(?:/[^/\s'\"]+)*/pitfall-\w+"), "<tmp>"),  # wherever TMPDIR points
    (re.compile(re.escape(f"{ROOT}/")), ""),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"Debugger PIN: [\d-]+"), "Debugger PIN: <pin>"),
    (re.compile(r"\b(after|waited) \d+\.\d+ s\b"), r"\1 <t> s"),
    (re.compile(r"\b0x[0-9a-f]{6,}\b"), "0x<address>"),
]
PID = re.compile(r"\bpid \d+")  # numbered in order of appearance: pid <1>, pid <2>
HEADER = "# verified with "
# Counts that depend on timing; the tests check them, the comparison masks them.
VARYING = re.compile(
    r"^\d+(?= of \d+ requests failed$)"  # how many of 60 requests the dry pool failed
    r"|(?<=, answered in )\d+\.\d(?= s$)",  # how long a request waited behind slow clients
    re.MULTILINE,
)


# Capture name -> the test rule its output must pass; every capture with a masked
# figure needs one, or a wrong figure on the page would go unchecked.
RULES = {**test_slow_clients.CAPTURE_RULES, **test_sqlite_locks.CAPTURE_RULES}


def versions() -> str:
    found = [f"Python {platform.python_version()}"]
    found += [f"{name} {metadata.version(name)}" for name in PACKAGES]
    found.append(f"SQLite {sqlite3.sqlite_version}")
    return "# verified with " + ", ".join(found)


def normalise_demo_output(text: str) -> str:
    for pattern, replacement in FIXED:
        text = pattern.sub(replacement, text)
    # Number the processes in order of appearance: two pids stay two pids.
    pids: dict[str, str] = {}
    text = PID.sub(lambda found: pids.setdefault(found[0], f"pid <{len(pids) + 1}>"), text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def capture(name: str) -> str:
    return f"{versions()}\n{normalise_demo_output(run_demo(name)).rstrip()}\n"


def comparable(text: str) -> str:
    """What the demonstration printed: without the versions line, timing counts masked."""
    if text.startswith(HEADER):
        text = text.partition("\n")[2]
    return VARYING.sub("<n>", text)


def judged(name: str, text: str) -> str | None:
    """Why the committed capture breaks its demonstration's test rules, or None."""
    body = text.partition("\n")[2] if text.startswith(HEADER) else text
    rule = RULES.get(name)
    if rule is None:
        if VARYING.search(body):
            return "a figure is masked in the comparison and no test rule judges it"
        return None
    try:
        rule(body)
    except AssertionError as error:
        # Outside pytest an assert has no message: name the line that failed.
        line = traceback.extract_tb(error.__traceback__)[-1].line
        return f"pitfalls/tests: {rule.__name__}() fails on it at `{line}`"
    return None


def shown_by(name: str, docs: Path = DOCS) -> list[Path]:
    """The pages that include ``captures/<name>.txt``."""
    include = f'--8<-- "captures/{name}.txt"'
    return [page for page in sorted(docs.rglob("*.md")) if include in page.read_text()]


def name_of(path: Path) -> str:
    """The path as the messages show it: from the repository root when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def check(names: list[str]) -> int:
    failures = 0
    for name in names:
        path = CAPTURES / f"{name}.txt"
        committed = path.read_text() if path.exists() else ""
        fresh = capture(name)
        if not shown_by(name):
            failures += 1
            print(f"UNSHOWN  {name_of(path)}: no page under docs/ includes it")
        if (wrong := judged(name, committed)) is not None:
            failures += 1
            print(f"WRONG    {name_of(path)}: {wrong}")
        if comparable(fresh) == comparable(committed):
            print(f"ok       {name_of(path)}")
            continue
        failures += 1
        print(f"CHANGED  {name_of(path)}")
        sys.stdout.writelines(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                f"{name_of(path)} (committed)",
                f"{name_of(path)} (now)",
            )
        )
    known = {f"{name}.txt" for name in DEMOS}
    for path in sorted(CAPTURES.glob("*.txt")):
        # bench* come from the benchmark, hosts-* from tests/containers/test_hosts.py.
        if path.name not in known and not path.name.startswith(("bench", "hosts-")):
            failures += 1
            print(f"STALE    {name_of(path)}: no demonstration produces it")
    if failures:
        print("\nThe captures no longer match the demonstrations. If the change is")
        print("intended, regenerate them with `nox -s capture` and commit captures/.")
    return 1 if failures else 0


def write(names: list[str]) -> int:
    CAPTURES.mkdir(exist_ok=True)
    for name in names:
        path = CAPTURES / f"{name}.txt"
        text = capture(name)
        changed = not path.exists() or path.read_text() != text
        path.write_text(text)
        print(f"{'wrote' if changed else 'same '}  {name_of(path)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name", help=", ".join(DEMOS))
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(DEMOS))
    if unknown:
        parser.error(f"no such demonstration: {', '.join(unknown)}")
    names = args.names or list(DEMOS)
    return check(names) if args.check else write(names)


if __name__ == "__main__":
    sys.exit(main())
