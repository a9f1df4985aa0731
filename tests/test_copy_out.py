"""Each chapter stands alone: copied out of the repository, it installs and passes.

The copy is installed without the root constraints.txt, so this also proves
the version ranges in the chapter's own pyproject.toml resolve to a working set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.name for p in (ROOT / "chapters").iterdir() if p.is_dir())
# Things a reader's copy would not contain: caches and local databases.
LEFTOVERS = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "instance", "*.sqlite*"
)


def test_every_chapter_is_checked():
    assert CHAPTERS == ["01-minimal", "02-factory", "03-plain-sqlalchemy", "04-service"]


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


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_copied_out_of_the_repo_passes_its_tests(chapter, tmp_path):
    copy = tmp_path / "my-app"
    shutil.copytree(ROOT / "chapters" / chapter, copy, ignore=LEFTOVERS)
    python = make_venv(tmp_path / "venv")
    # A regular (non-editable) install, as a reader would deploy it.
    install(python, ".[test]", cwd=copy)
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "PYTHONPATH"}}
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
