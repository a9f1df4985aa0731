"""Work that must happen once, done in the factory, races when two workers start together."""

import re

from pitfalls import run_demo


def failures(out: str) -> int:
    found = re.search(r"^(\d+) of 10 trials had a failure$", out, re.MULTILINE)
    assert found, out
    return int(found[1])


def test_two_workers_creating_tables_collide_on_create_table():
    out = run_demo("startup-race-naive")
    # Each trial holds both processes at the gap, so every trial collides.
    assert failures(out) == 10
    assert "(sqlite3.OperationalError) table <name> already exists" in out


def test_chapter_03_builds_the_app_in_two_workers_without_a_failure():
    out = run_demo("startup-race-chapter")
    assert failures(out) == 0
    assert "outcomes:\n  ok\n" in out
