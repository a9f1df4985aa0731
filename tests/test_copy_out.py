"""Each chapter stands alone: copied out of the repository, it installs and works.

The copy is installed into a fresh environment without the root constraints.txt,
so this also proves the version ranges in the chapter's own pyproject.toml
resolve to a working set. Its tests run against the installed copy, not its
source folder: pytest starts outside the copy, so only its tests/ folder is on
sys.path, and a plugin reports where each module came from.

Only the chapter's smoke tests run (``pytest -m smoke``; each chapter marks its
own in its tests): the whole suite already runs in the chapter's sessions, once
per database. A chapter with a ``postgres`` extra is installed with it and runs
its smoke tests a second time on PostgreSQL, in a database of its own. pytest
still imports every test module of the copy to select them,
so a test that needs a file outside the chapter fails here too. Then the
README's own ``flask`` commands run in the copy.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tools import postgres as pg
from tools.chapters import chapters

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = chapters()
# Things a reader's copy would not contain: caches and local databases.
LEFTOVERS = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "instance", "*.sqlite*"
)
# A pytest plugin, loaded with -p: prints where the chapter's modules were imported from.
WHERE = """
import importlib, os

def pytest_terminal_summary(terminalreporter):
    for name in os.environ["COPY_OUT_MODULES"].split():
        where = importlib.import_module(name).__file__
        terminalreporter.write_line(f"imported {name} from {where}")
"""


def test_the_chapter_list_is_found():
    # A new chapters/NN-name folder with a pyproject.toml joins the list by itself.
    assert {"01", "02", "03"} <= CHAPTERS.keys()


def make_venv(venv: Path) -> Path:
    """A fresh environment; uv when available (fast), the venv module otherwise."""
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, venv], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    return venv / "bin" / "python"


def install(python: Path, target: str, cwd: Path) -> None:
    uv = shutil.which("uv")
    if uv:
        command = [uv, "pip", "install", "--quiet", "--python", python, target]
    else:
        command = [python, "-m", "pip", "install", "--quiet", target]
    subprocess.run(command, cwd=cwd, check=True, env={**os.environ, "UV_COMPILE_BYTECODE": "1"})


def modules(copy: Path) -> list[str]:
    """The chapter's own modules and packages, found from its files (tests aside)."""
    packages = [
        p.name for p in copy.iterdir() if (p / "__init__.py").exists() and p.name != "tests"
    ]
    files = [p.stem for p in copy.glob("*.py") if p.stem.isidentifier()]
    return sorted(packages + files)


def readme_commands(readme: Path) -> list[list[str]]:
    """The ``flask`` chores of the README's "Run it" block; servers are left out."""
    block = readme.read_text().split("## Run it", 1)[1].split("```bash", 1)[1].split("```")[0]
    commands = []
    for line in block.splitlines():
        words = shlex.split(line.split("#", 1)[0])
        if words[:1] == ["flask"] and "run" not in words:
            commands.append(words)
    return commands


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "WERKZEUG_", "VIRTUAL_ENV"))
        and key not in {"TEST_DATABASE_URL", "PYTHONPATH", "PITFALLS_OUTPUT"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


@pytest.fixture(scope="module")
def postgres_server():
    """The server at TEST_DATABASE_URL (or the default), else a throwaway one."""
    with pg.postgres(os.environ.get("TEST_DATABASE_URL", pg.DEFAULT_URL)) as server:
        yield server


def has_postgres_extra(chapter: Path) -> bool:
    with open(chapter / "pyproject.toml", "rb") as file:
        return "postgres" in tomllib.load(file)["project"].get("optional-dependencies", {})


def run_smoke_tests(python: Path, copy: Path, outside: Path, env: dict[str, str]) -> str:
    """The copy's smoke tests, run from outside it; their output."""
    result = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "where_imported",
            "-m",
            "smoke",
            "--rootdir",
            copy,
            "-c",
            copy / "pyproject.toml",
            copy / "tests",
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    # Exit code 5, "no tests ran", when the chapter marks no smoke test.
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    assert " deselected" in result.stdout, "the smoke tests are the whole suite: mark fewer"
    return result.stdout


@pytest.mark.parametrize("number", CHAPTERS)
def test_chapter_copied_out_of_the_repo_passes_its_smoke_tests(number, tmp_path, request):
    copy = tmp_path / "my-app"
    shutil.copytree(CHAPTERS[number], copy, ignore=LEFTOVERS)
    venv = tmp_path / "venv"
    python = make_venv(venv)
    # A regular (non-editable) install, as a reader would deploy it, with the
    # PostgreSQL driver when the chapter offers one.
    postgres = has_postgres_extra(copy)
    install(python, ".[test,postgres]" if postgres else ".[test]", cwd=copy)
    names = modules(copy)
    assert names, "the chapter has no module or package"

    # Run from outside the copy: pytest puts only tests/ on sys.path (so a test may
    # import from conftest.py, as a copier's pytest would allow), never the copy's root.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "where_imported.py").write_text(WHERE)
    env = clean_env(venv, COPY_OUT_MODULES=" ".join(names))
    output = run_smoke_tests(python, copy, outside, env)
    site_packages = re.escape(str(venv)) + r"/lib/python3\.\d+/site-packages/"
    for name in names:
        found = re.search(rf"^imported {name} from (.*)$", output, re.MULTILINE)
        assert found, output[:2000]
        assert re.match(site_packages, found[1]), f"{name} came from {found[1]}"

    if postgres:  # the same smoke tests again, on PostgreSQL
        server = request.getfixturevalue("postgres_server")
        with pg.fresh_database(server.url) as url:
            run_smoke_tests(python, copy, outside, {**env, "TEST_DATABASE_URL": url})

    # The README's chores, as a reader types them in the copy (.flaskenv included).
    commands = readme_commands(copy / "README.md")
    assert commands, "the README shows no flask command"
    for command in commands:
        done = subprocess.run(
            command, cwd=copy, env=clean_env(venv), capture_output=True, text=True
        )
        assert done.returncode == 0, f"{shlex.join(command)}:\n{done.stdout}{done.stderr}"
