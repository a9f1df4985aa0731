"""The lowest-versions sessions fail when a lower bound is not what got installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"tools/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lowest = load("lowest")

PYPROJECT = """
[project]
name = "x"
version = "1"
dependencies = ["Flask>=3.1,<3.2", "SQLAlchemy>=2.0,<2.2"]

[project.optional-dependencies]
postgres = ["psycopg[binary]>=3.2.1,<4"]
test = ["pytest"]
"""


def write(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    return path


def test_bounds_that_were_installed_pass(tmp_path):
    installed = {"flask": "3.1.0", "SQLAlchemy": "2.0.0", "psycopg": "3.2.1", "pytest": "8.0"}
    problems = lowest.untested_bounds(write(tmp_path), installed)
    assert problems == ["pytest: no lower bound to test"]


def test_a_bound_the_resolver_could_not_install_is_named(tmp_path):
    installed = {"Flask": "3.1.0", "sqlalchemy": "2.0.16", "psycopg": "3.2.1", "pytest": "8.0"}
    problems = lowest.untested_bounds(write(tmp_path), installed)
    assert "SQLAlchemy<2.2,>=2.0: the lowest version that installs is 2.0.16" in problems[0]
    assert lowest.installed_versions(write(tmp_path), installed).startswith(
        "Flask 3.1.0, SQLAlchemy 2.0.16, psycopg 3.2.1"
    )


def test_every_chapter_bound_is_a_lower_bound():
    """What the sessions check: each requirement of each chapter has one to test."""
    for chapter in load("chapters").chapters().values():
        for requirement in lowest.requirements(chapter / "pyproject.toml"):
            assert lowest.lower_bound(requirement) is not None, (chapter.name, requirement)
