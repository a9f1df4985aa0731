"""The default run, `python3 noxfile.py`, runs each chapter's whole suite once per database.

A chapter's suite is what the default run repeats most, so each extra pairing
of versions and database costs a whole suite: on SQLite at the pinned versions
(chapter-NN), and on PostgreSQL at the lowest versions its ranges allow
(chapter-NN-lowest; chapter 01 knows only SQLite). Any other chapter session,
such as the pinned versions on PostgreSQL (chapter-NN-postgres), runs by name.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import nox
import pytest

from tools.chapters import chapters

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = chapters()


@pytest.fixture(scope="module")
def default_sessions() -> list[str]:
    runpy.run_path(str(ROOT / "noxfile.py"))  # sets nox.options.sessions
    return list(nox.options.sessions)


@pytest.mark.parametrize("number", CHAPTERS)
def test_each_chapter_suite_runs_once_per_database(default_sessions, number):
    mine = [s for s in default_sessions if s.startswith(f"chapter-{number}")]
    assert sorted(mine) == [f"chapter-{number}", f"chapter-{number}-lowest"]


def test_the_pinned_versions_on_postgresql_can_still_be_run_by_name(default_sessions):
    names = nox.registry.get().keys()
    for number in CHAPTERS:
        if number != "01":
            assert f"chapter-{number}-postgres" in names
