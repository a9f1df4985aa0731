"""Repository policy, checked over every chapter: what a copy must never commit,
and how much of the app one chapter may change.

These rules are about the files around the code, so they live here rather than
in each chapter's own tests, which check only what the app does.
"""

from __future__ import annotations

import difflib
from itertools import pairwise
from pathlib import Path

import pytest

from tools.chapters import chapters

CHAPTERS = chapters()
# Local state and secrets a chapter creates or a learner adds; none belongs in git.
IGNORED = [".env", ".env.*", "instance/", "*.sqlite", "*.sqlite-*", "*.sqlite3", "*.db"]
# Build output and caches.
IGNORED += ["__pycache__/", "*.egg-info/", ".venv/", "build/", "dist/"]
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL", "KEY")


def settings(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


@pytest.mark.parametrize("number", CHAPTERS)
def test_gitignore_keeps_secrets_and_local_state_out(number):
    lines = (CHAPTERS[number] / ".gitignore").read_text().splitlines()
    missing = [pattern for pattern in IGNORED if pattern not in lines]
    assert not missing, f"{CHAPTERS[number].name}/.gitignore lacks {missing}"


@pytest.mark.parametrize("number", CHAPTERS)
def test_flaskenv_holds_only_public_settings(number):
    path = CHAPTERS[number] / ".flaskenv"
    if not path.exists():  # chapter 01 names its app on the command line instead
        assert number == "01"
        return
    names = settings(path)
    assert "FLASK_APP" in names
    for name in names:
        assert not any(word in name for word in SECRET_WORDS), f"{path}: {name}"


# Each chapter from 03 on takes one decision, and the diff from the previous
# chapter is the lesson: past this many changed lines of app code it is no
# longer one lesson. Tests and migration scripts are not counted.
MAX_CHANGED_APP_LINES = 850
FIRST_MEASURED = "03"


def app_code(chapter: Path) -> dict[str, list[str]]:
    """Every ``blog/**/*.py`` of a chapter but its migration scripts, by path."""
    package = chapter / "blog"
    return {
        path.relative_to(chapter).as_posix(): path.read_text().splitlines()
        for path in sorted(package.rglob("*.py"))
        if "versions" not in path.relative_to(package).parts
    }


def changed_lines(old: dict[str, list[str]], new: dict[str, list[str]]) -> int:
    """Lines added plus lines removed, over every file of either side."""
    count = 0
    for name in old.keys() | new.keys():
        diff = difflib.unified_diff(old.get(name, []), new.get(name, []), lineterm="", n=0)
        count += sum(1 for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    return count


def test_changed_lines_counts_additions_and_removals():
    old = {"blog/a.py": ["x = 1", "y = 2"], "blog/gone.py": ["z = 3"]}
    new = {"blog/a.py": ["x = 1", "y = 20"], "blog/new.py": ["w = 4", "v = 5"]}
    assert changed_lines(old, new) == 2 + 1 + 2


PAIRS = [(before, after) for before, after in pairwise(CHAPTERS) if after >= FIRST_MEASURED]


def test_every_chapter_from_03_on_is_measured():
    assert [after for _, after in PAIRS] == [n for n in CHAPTERS if n >= FIRST_MEASURED] != []


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_each_chapter_changes_at_most_one_lesson_of_app_code(before, after):
    count = changed_lines(app_code(CHAPTERS[before]), app_code(CHAPTERS[after]))
    assert count <= MAX_CHANGED_APP_LINES, (
        f"{CHAPTERS[before].name} -> {CHAPTERS[after].name} changes {count} lines of "
        f"blog/**/*.py (at most {MAX_CHANGED_APP_LINES}): split the chapter"
    )
