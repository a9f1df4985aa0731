"""Prove that each fix is guarded: remove it, and its guard tests must fail.

    python -m tools.proofs                   every mutation in tools/proofs.toml
    python -m tools.proofs --only 405        the mutations whose fix names contain "405"

For every mutation and every chapter it names, the runner copies the chapter to
a temporary folder, makes its changes, and runs only the named guard tests inside the copy,
with the copy first on ``sys.path`` (nothing is installed). Every guard must
fail. A guard that passes with its fix removed proves nothing: the run fails.

Before any mutation, each chapter's guards run once on an unchanged copy and
must pass, so that a failure always comes from the mutation.

Each guard run is ``pytest`` in the copy, in a child forked from a server that
has imported pytest and the third-party libraries once (tools/pytest_server.py),
never the chapter's own code: the child imports that fresh from the copy.
Copies get the unchanged copy's bytecode (``__pycache__``), except for the files
a mutation changes, which Python compiles again. ``--fresh`` starts a new
interpreter for every run instead, with no bytecode copied: slower, and the same
verdicts.

Every chapter a mutation lists gets its own run, even where the function and
the guard tests read the same as in another chapter: whether a guard fails also
depends on the fixtures, the factory and the modules around them, which differ.

A mutation marked ``postgres = true`` runs its guards on PostgreSQL: the server
at $TEST_DATABASE_URL (default 127.0.0.1:5432, else a throwaway one), in a new
database for each guard run, so that runs going on at the same time never meet.

A change is anchored, not positional: it names a function (found with ``ast``)
and a snippet that must match exactly once inside it, whatever the spaces and
line breaks around punctuation. ``drop`` turns the statement holding the
snippet into ``pass``; ``old``/``new`` replace the snippet. A snippet that
matches no time or several times stops the run: the list itself is wrong.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from tools.chapters import chapters
from tools.postgres import DEFAULT_URL, PostgresUnavailable, fresh_database, postgres
from tools.pytest_server import PytestServer, Result, ServerError

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
    """The mutation list itself is wrong: a snippet that does not match once, a typo."""


CHANGE_KEYS = {"file", "function", "old", "new", "drop"}
MUTATION_KEYS = {"fix", "chapters", "guards", "change", "env", "files", "postgres"} | CHANGE_KEYS


@dataclass
class Change:
    """One edit: in ``file``, inside ``function`` (or the whole file), ``old`` becomes
    ``new``; or ``drop``: the statement that contains the snippet becomes ``pass``."""

    file: str
    function: str = ""
    old: str = ""
    new: str = ""
    drop: str = ""


@dataclass
class Mutation:
    fix: str
    chapters: list[str]
    guards: list[str]
    changes: list[Change]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    postgres: bool = False  # the guards run on PostgreSQL, each run in a new database


def parse_change(fix: str, entry: dict, defaults: dict) -> Change:
    fields = {**defaults, **entry}
    unknown = set(entry) - CHANGE_KEYS
    if unknown:
        raise ProofError(f"{fix!r}: unknown keys {sorted(unknown)}")
    if "file" not in fields:
        raise ProofError(f"{fix!r}: a change names no file")
    if ("drop" in fields) == ("old" in fields) or ("old" in fields) != ("new" in fields):
        raise ProofError(f"{fix!r}: a change needs either old and new, or drop")
    return Change(**fields)


def load(path: Path) -> list[Mutation]:
    data = tomllib.loads(path.read_text("utf-8"))
    mutations = []
    for entry in data["mutation"]:
        fix = entry["fix"]
        unknown = set(entry) - MUTATION_KEYS
        if unknown:
            raise ProofError(f"{fix!r}: unknown keys {sorted(unknown)}")
        # The mutation's own file/function/old/new/drop: one change, or the
        # defaults of the changes listed under `change`.
        own = {key: entry[key] for key in CHANGE_KEYS if key in entry}
        if "change" in entry:
            defaults = {key: own.pop(key) for key in ("file", "function") if key in own}
            if own:
                raise ProofError(f"{fix!r}: {sorted(own)} go inside each change")
            changes = [parse_change(fix, change, defaults) for change in entry["change"]]
        else:
            changes = [parse_change(fix, own, {})]
        mutations.append(
            Mutation(
                fix=fix,
                chapters=entry["chapters"],
                guards=entry["guards"],
                changes=changes,
                env=entry.get("env", {}),
                files=entry.get("files", {}),
                postgres=entry.get("postgres", False),
            )
        )
    return mutations


def copy_chapter(source: Path, target: Path, bytecode: Path | None = None) -> Path:
    """Copy ``source`` without what runs leave behind; then, from ``bytecode`` (a
    copy that has run), the compiled files: their sources keep their times, so
    Python and pytest take them as up to date."""
    shutil.copytree(source, target, ignore=LEFTOVERS)
    if bytecode:
        for cache in bytecode.rglob("__pycache__"):
            if (target / cache.relative_to(bytecode)).parent.is_dir():
                shutil.copytree(cache, target / cache.relative_to(bytecode))
    return target


def forget_bytecode(path: Path) -> None:
    """Remove the compiled forms of ``path`` (Python's and pytest's): its new text is compiled."""
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        pyc.unlink()


class Lines:
    """Turn ast's (line, UTF-8 byte column) positions into offsets in the text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode()[:col].decode())

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Where ``node``'s source starts (its first decorator, if any) and ends."""
        decorators = getattr(node, "decorator_list", [])
        if decorators:
            first = min(d.lineno for d in decorators)
            line = self.lines[first - 1]
            start = self.starts[first - 1] + len(line) - len(line.lstrip())
        else:
            start = self.offset(node.lineno, node.col_offset)
        return start, self.offset(node.end_lineno, node.end_col_offset)


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions(body: list[ast.stmt]):
    """The functions and classes defined directly in ``body`` (also under if/try/with)."""
    for node in body:
        if isinstance(node, DEFINITIONS):
            yield node
        else:
            for name in ("body", "orelse", "finalbody", "handlers"):
                yield from definitions(getattr(node, name, []))


def scope(tree: ast.Module, function: str, where: str) -> ast.AST:
    """The node of ``function`` ("name" or "Class.method"), or the module for ""."""
    node: ast.AST = tree
    for part in function.split(".") if function else []:
        found = [d for d in definitions(node.body) if d.name == part]
        if len(found) != 1:
            raise ProofError(f"{where}: {len(found)} definitions of {part!r}, not exactly one")
        node = found[0]
    return node


def snippet_pattern(snippet: str) -> re.Pattern[str]:
    """A regex for ``snippet`` that ignores how whitespace is laid out.

    Spaces and line breaks may be added or removed around punctuation; between two
    words at least one space stays. The snippet does not match inside a longer name.
    """
    text = snippet.strip()
    if not text:
        raise ProofError("an empty snippet")
    out = [r"(?<!\w)" if text[0].isalnum() or text[0] == "_" else ""]
    word = re.compile(r"\w")
    previous = ""
    gap = False
    for char in text:
        if char.isspace():
            gap = True
            continue
        if previous:
            both_words = bool(word.match(previous)) and bool(word.match(char))
            if both_words:
                out.append(r"\s+" if gap else "")
            else:
                out.append(r"\s*")
        out.append(re.escape(char))
        previous, gap = char, False
    if word.match(previous):
        out.append(r"(?!\w)")
    return re.compile("".join(out))


def find(text: str, lines: Lines, node: ast.AST, snippet: str, where: str) -> tuple[int, int]:
    """The one place ``snippet`` matches inside ``node``'s source; anything else is an error."""
    if isinstance(node, ast.Module):
        start, end = 0, len(text)
    else:  # the definition, up to the end of its last line (a comment included)
        start, end = lines.span(node)
        end = lines.starts[node.end_lineno]
    matches = list(snippet_pattern(snippet).finditer(text, start, end))
    if len(matches) != 1:
        raise ProofError(f"{where}: {len(matches)} matches of {snippet!r}, not exactly one")
    return matches[0].span()


def indent_like(text: str, position: int, new: str) -> str:
    """``new``, dedented, with its later lines indented like the line where it goes."""
    line_start = text.rfind("\n", 0, position) + 1
    indent = re.match(r"[ \t]*", text[line_start:]).group()
    lines = textwrap.dedent(new.strip("\n")).split("\n")
    if len(lines) == 1:
        return lines[0].strip()
    return "\n".join([lines[0], *(indent + line if line.strip() else "" for line in lines[1:])])


def innermost_statement(node: ast.AST, start: int, end: int, lines: Lines) -> ast.stmt:
    """The smallest statement under ``node`` whose source holds [start, end)."""
    best = None
    for child in ast.walk(node):
        if isinstance(child, ast.stmt) and child is not node:
            first, last = lines.span(child)
            if first <= start and end <= last and (best is None or last - first < best[1]):
                best = (child, last - first)
    if best is None:
        raise ProofError("the snippet is not inside a statement")
    return best[0]


def mutate(text: str, change: Change, where: str) -> str:
    """Apply one change to a Python source."""
    where = f"{where}/{change.file}" + (f" in {change.function}" if change.function else "")
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise ProofError(f"{where}: not Python before this change ({error})") from error
    lines = Lines(text)
    node = scope(tree, change.function, where)
    if change.drop:
        start, end = find(text, lines, node, change.drop, where)
        start, end = lines.span(innermost_statement(node, start, end, lines))
        return text[:start] + "pass" + text[end:]
    start, end = find(text, lines, node, change.old, where)
    return text[:start] + indent_like(text, start, change.new) + text[end:]


def apply(copy: Path, mutation: Mutation) -> None:
    for change in mutation.changes:
        path = copy / change.file
        where = f"{mutation.fix!r}: {copy.name}"
        path.write_text(mutate(path.read_text("utf-8"), change, where), "utf-8")
        forget_bytecode(path)
    for name, content in mutation.files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(content, "utf-8")
        forget_bytecode(copy / name)


def run_guards(
    copy: Path,
    guards: list[str],
    env: dict[str, str],
    server: str | None = None,
    pytest: PytestServer | None = None,
    write_bytecode: bool = False,
) -> dict[str, bool]:
    """Run the guard tests in ``copy`` (on a new database of the PostgreSQL at
    ``server``, if given; in a child of ``pytest``, if given, else in a new
    interpreter); return {guard: failed}."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k != "PYTHONPATH"
    }
    clean.pop("TEST_DATABASE_URL", None)
    if write_bytecode:  # the unchanged copy compiles for the copies made after it
        clean.pop("PYTHONDONTWRITEBYTECODE", None)
    with fresh_database(server) if server else nullcontext() as database:
        if database:
            env = {**env, "TEST_DATABASE_URL": database}
        result = _pytest(copy, guards, {**clean, "PYTHONPATH": str(copy), **env}, pytest)
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


def _pytest(
    copy: Path, guards: list[str], env: dict[str, str], pytest: PytestServer | None
) -> Result | subprocess.CompletedProcess:
    # A temporary folder of its own: guard runs go in parallel, and pytest's
    # shared numbered folders under /tmp/pytest-of-<user> are not made for that.
    args = [*PYTEST[2:], f"--basetemp={copy.with_name(copy.name + '-tmp')}", *guards]
    if pytest:
        return pytest.run(copy, args, env, copy.with_name(copy.name + "-output"), timeout=600)
    return subprocess.run(
        [sys.executable, *PYTEST[:2], *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def prove(
    number: str,
    source: Path,
    mutation: Mutation,
    workdir: Path,
    job: int,
    server: str | None,
    pytest: PytestServer | None = None,
) -> list[str]:
    """Remove one fix from one chapter; return the guards that still passed."""
    # The bytecode of the chapter's unchanged copy, when guard runs go through the server.
    bytecode = workdir / f"{number}-unchanged" if pytest else None
    slug = re.sub(r"\W+", "-", mutation.fix).strip("-")[:40]
    server = server if mutation.postgres else None
    if mutation.env or server:
        # The shared check of unchanged copies runs without this entry's settings
        # (a database server, say): check the unchanged chapter with them too, so
        # that a guard failing for want of them proves nothing.
        unchanged = copy_chapter(source, workdir / f"{job:03}-{number}-{slug}-unchanged", bytecode)
        if broken := [
            g
            for g, did_fail in run_guards(
                unchanged, mutation.guards, mutation.env, server, pytest
            ).items()
            if did_fail
        ]:
            raise ProofError(
                f"{number}: {mutation.fix!r}: guards fail with no fix removed: {broken}"
            )
    # The job's number too: one fix may be removed in several ways.
    copy = copy_chapter(source, workdir / f"{job:03}-{number}-{slug}", bytecode)
    apply(copy, mutation)
    failed = run_guards(copy, mutation.guards, mutation.env, server, pytest)
    return [guard for guard, did_fail in failed.items() if not did_fail]


def baseline(
    number: str, source: Path, guards: list[str], workdir: Path, pytest: PytestServer | None = None
) -> list[str]:
    """The unchanged chapter: every guard must pass. Return those that failed."""
    copy = copy_chapter(source, workdir / f"{number}-unchanged")
    failed = run_guards(copy, sorted(set(guards)), {}, pytest=pytest, write_bytecode=bool(pytest))
    return [guard for guard, did_fail in failed.items() if did_fail]


def run(
    config: Path = CONFIG,
    chapter_paths: dict[str, Path] | None = None,
    only: str = "",
    jobs: int = 2,
    fresh: bool = False,
) -> int:
    paths = chapter_paths or chapters()
    mutations = [m for m in load(config) if only in m.fix]
    jobs_list = [(number, m) for m in mutations for number in m.chapters]
    for number, mutation in jobs_list:
        if number not in paths:
            raise ProofError(f"{mutation.fix!r}: no chapter {number}")
    needs_postgres = any(mutation.postgres for _, mutation in jobs_list)
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    with postgres(url) if needs_postgres else nullcontext() as server:
        if server:
            print(server, flush=True)
        return _run(jobs_list, paths, jobs, server.url if server else None, fresh)


def _run(
    jobs_list: list[tuple[str, Mutation]],
    paths: dict[str, Path],
    jobs: int,
    server: str | None,
    fresh: bool = False,
) -> int:
    with tempfile.TemporaryDirectory(prefix="proofs-") as tmp:
        workdir = Path(tmp)
        pytest = None if fresh else PytestServer.start(workdir)
        try:
            return _run_all(jobs_list, paths, jobs, server, workdir, pytest)
        finally:
            if pytest:
                pytest.stop()


def _run_all(
    jobs_list: list[tuple[str, Mutation]],
    paths: dict[str, Path],
    jobs: int,
    server: str | None,
    workdir: Path,
    pytest: PytestServer | None,
) -> int:
    problems = []
    with ThreadPoolExecutor(jobs) as pool:
        guards_by_chapter: dict[str, list[str]] = {}
        for number, mutation in jobs_list:
            # A postgres entry's guards may need PostgreSQL (a chapter can leave such
            # tests out on SQLite): prove() checks them unchanged there instead.
            if not mutation.postgres:
                guards_by_chapter.setdefault(number, []).extend(mutation.guards)
        for number, broken in zip(
            guards_by_chapter,
            pool.map(
                lambda n: baseline(n, paths[n], guards_by_chapter[n], workdir, pytest),
                guards_by_chapter,
            ),
            strict=True,
        ):
            if broken:
                problems.append(f"chapter {number}: guards fail with no fix removed: {broken}")
        if problems:
            print("\n".join(problems))
            return 1
        results = pool.map(
            lambda job: timed(
                prove, job[1][0], paths[job[1][0]], job[1][1], workdir, job[0], server, pytest
            ),
            enumerate(jobs_list),
        )
        for (number, mutation), (survivors, seconds) in zip(jobs_list, results, strict=True):
            if survivors:
                problems.append(f"{number}: {mutation.fix}: still passing: {survivors}")
                print(f"SURVIVED  {number}  {mutation.fix}  (passing: {', '.join(survivors)})")
            else:
                print(f"proven    {number}  {mutation.fix}  ({seconds:.1f} s)")
    print(f"{len(jobs_list) - len(problems)} of {len(jobs_list)} removals caught by their tests.")
    return 1 if problems else 0


def timed(function, *args):
    """``function(*args)`` and the seconds it took."""
    start = time.monotonic()
    return function(*args), time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--only", default="", help="only the fixes whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--fresh", action="store_true", help="a new interpreter for every guard run (slower)"
    )
    args = parser.parse_args(argv)
    try:
        return run(args.config, only=args.only, jobs=args.jobs, fresh=args.fresh)
    except (ProofError, PostgresUnavailable, ServerError) as error:
        print(f"error: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
