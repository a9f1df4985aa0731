"""Prove that each fix is guarded: remove it, and its guard tests must fail.

    python -m tools.proofs                   every mutation in tools/proofs.toml
    python -m tools.proofs --only 405        the mutations whose fix names contain "405"

For every mutation and every chapter it names, the runner copies the chapter to
a temporary folder, makes the text replacements (each ``old`` must match exactly
once, or the run stops), and runs only the named guard tests inside the copy,
with the copy first on ``sys.path`` (nothing is installed). Every guard must
fail. A guard that passes with its fix removed proves nothing: the run fails.

Before any mutation, each chapter's guards run once on an unchanged copy and
must pass, so that a failure always comes from the mutation.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tools.chapters import chapters

CONFIG = Path(__file__).with_name("proofs.toml")
LEFTOVERS = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "instance", "*.sqlite*"
)
# pytest -rA ends with one line per test: "PASSED tests/x.py::test_y[1]", "FAILED ... - why".
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED) (\S+)", re.MULTILINE)


# Quiet, one line per test, no cache, and no Hypothesis plugin: guards are plain
# tests, and loading it costs a second per run.
PYTEST = ("-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")


class ProofError(Exception):
    """The mutation list itself is wrong: a replacement that does not match once, a typo."""


@dataclass
class Change:
    file: str
    old: str
    new: str


@dataclass
class Mutation:
    fix: str
    chapters: list[str]
    guards: list[str]
    changes: list[Change]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def load(path: Path) -> list[Mutation]:
    data = tomllib.loads(path.read_text("utf-8"))
    return [
        Mutation(
            fix=entry["fix"],
            chapters=entry["chapters"],
            guards=entry["guards"],
            changes=[Change(**change) for change in entry["change"]],
            env=entry.get("env", {}),
            files=entry.get("files", {}),
        )
        for entry in data["mutation"]
    ]


def copy_chapter(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=LEFTOVERS)
    return target


def apply(copy: Path, mutation: Mutation) -> None:
    for change in mutation.changes:
        path = copy / change.file
        text = path.read_text("utf-8")
        count = text.count(change.old)
        if count != 1:
            raise ProofError(
                f"{mutation.fix!r}: {copy.name}/{change.file} has {count} matches "
                f"of {change.old!r}, not exactly one"
            )
        path.write_text(text.replace(change.old, change.new), "utf-8")
    for name, content in mutation.files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(content, "utf-8")


def run_guards(copy: Path, guards: list[str], env: dict[str, str]) -> dict[str, bool]:
    """Run the guard tests in ``copy``; return {guard: failed}."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k != "PYTHONPATH"
    }
    clean.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        # A temporary folder of its own: guard runs go in parallel, and pytest's
        # shared numbered folders under /tmp/pytest-of-<user> are not made for that.
        [sys.executable, *PYTEST, f"--basetemp={copy.with_name(copy.name + '-tmp')}", *guards],
        cwd=copy,
        env={**clean, "PYTHONPATH": str(copy), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcomes = OUTCOME.findall(result.stdout)
    failed = {}
    for guard in guards:
        mine = [kind for kind, node in outcomes if node == guard or node.startswith(guard + "[")]
        if not mine:
            raise ProofError(
                f"{copy.name}: guard {guard} ran no test\n{result.stdout[-2000:]}{result.stderr}"
            )
        failed[guard] = any(kind in ("FAILED", "ERROR") for kind in mine)
    return failed


def prove(number: str, source: Path, mutation: Mutation, workdir: Path) -> list[str]:
    """Remove one fix from one chapter; return the guards that still passed."""
    slug = re.sub(r"\W+", "-", mutation.fix).strip("-")[:40]
    copy = copy_chapter(source, workdir / f"{number}-{slug}")
    apply(copy, mutation)
    failed = run_guards(copy, mutation.guards, mutation.env)
    return [guard for guard, did_fail in failed.items() if not did_fail]


def baseline(number: str, source: Path, guards: list[str], workdir: Path) -> list[str]:
    """The unchanged chapter: every guard must pass. Return those that failed."""
    copy = copy_chapter(source, workdir / f"{number}-unchanged")
    failed = run_guards(copy, sorted(set(guards)), {})
    return [guard for guard, did_fail in failed.items() if did_fail]


def run(
    config: Path = CONFIG,
    chapter_paths: dict[str, Path] | None = None,
    only: str = "",
    jobs: int = 2,
) -> int:
    paths = chapter_paths or chapters()
    mutations = [m for m in load(config) if only in m.fix]
    jobs_list = [(number, m) for m in mutations for number in m.chapters]
    for number, mutation in jobs_list:
        if number not in paths:
            raise ProofError(f"{mutation.fix!r}: no chapter {number}")
    problems = []
    with tempfile.TemporaryDirectory(prefix="proofs-") as tmp, ThreadPoolExecutor(jobs) as pool:
        workdir = Path(tmp)
        guards_by_chapter: dict[str, list[str]] = {}
        for number, mutation in jobs_list:
            guards_by_chapter.setdefault(number, []).extend(mutation.guards)
        for number, broken in zip(
            guards_by_chapter,
            pool.map(
                lambda n: baseline(n, paths[n], guards_by_chapter[n], workdir), guards_by_chapter
            ),
            strict=True,
        ):
            if broken:
                problems.append(f"chapter {number}: guards fail with no fix removed: {broken}")
        if problems:
            print("\n".join(problems))
            return 1
        results = pool.map(lambda job: prove(job[0], paths[job[0]], job[1], workdir), jobs_list)
        for (number, mutation), survivors in zip(jobs_list, results, strict=True):
            if survivors:
                problems.append(f"{number}: {mutation.fix}: still passing: {survivors}")
                print(f"SURVIVED  {number}  {mutation.fix}  (passing: {', '.join(survivors)})")
            else:
                print(f"proven    {number}  {mutation.fix}")
    print(f"{len(jobs_list) - len(problems)} of {len(jobs_list)} removals caught by their tests.")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--only", default="", help="only the fixes whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        return run(args.config, only=args.only, jobs=args.jobs)
    except ProofError as error:
        print(f"error: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
