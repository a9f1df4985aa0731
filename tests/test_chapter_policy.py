"""Repository policy, checked over every chapter: what a copy must never commit.

These rules are about the files around the code, so they live here rather than
in each chapter's own tests, which check only what the app does.
"""

from __future__ import annotations

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
