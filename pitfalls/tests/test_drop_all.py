"""Pitfall 3: ``drop_all()`` at start-up empties the database at every restart."""

import re

from pitfalls import run_demo

USERS_AFTER_EACH_START = re.compile(r"^GET /users -> 200: (\d+) user\(s\)", re.MULTILINE)


def test_a_factory_that_drops_tables_keeps_only_the_last_row():
    out = run_demo("drop-all-naive")
    assert out.count("POST /users") == 4
    assert USERS_AFTER_EACH_START.findall(out) == ["1", "1", "1", "1"]
    assert "GET /users -> 200: 1 user(s) user4" in out


def test_init_db_before_every_start_keeps_every_row():
    out = run_demo("drop-all-chapter")
    assert out.count("$ flask --app blog init-db") == 4
    assert USERS_AFTER_EACH_START.findall(out) == ["1", "2", "3", "4"]
    assert "GET /users -> 200: 4 user(s) user1, user2, user3, user4" in out
