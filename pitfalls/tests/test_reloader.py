"""Pitfall 1: ``flask run --debug`` builds the app twice, so start-up writes happen twice."""

import re

from pitfalls import run_demo

FACTORY_CALL = re.compile(r"^create_app\(\) in pid (\d+), WERKZEUG_RUN_MAIN=(\S+)$", re.MULTILINE)


def test_the_reloader_runs_the_seeding_factory_in_two_processes():
    out = run_demo("reloader-naive")
    calls = FACTORY_CALL.findall(out)
    assert [main for _, main in calls] == ["None", "true"]  # the parent, then the child
    assert calls[0][0] != calls[1][0]
    # The child repeats the parent's inserts and fails; the server then answers 500.
    assert "IntegrityError) UNIQUE constraint failed: users.username" in out
    assert "GET /users -> 500" in out
    assert "users in the database: ada, grace, linus" in out  # written once, by the parent


def test_without_the_reloader_the_factory_runs_once():
    out = run_demo("reloader-no-reload")
    assert [main for _, main in FACTORY_CALL.findall(out)] == ["None"]
    assert "Error" not in out
    assert "GET /users -> 200" in out


def test_chapter_03_seeds_once_however_often_seed_runs():
    out = run_demo("reloader-chapter")
    assert " * Restarting with stat" in out  # the same reloader is running
    assert "GET /users -> 200: 0 user(s)" in out  # starting the server wrote nothing
    seeds = re.findall(r"^Seeded .*$", out, re.MULTILINE)
    assert seeds == [
        "Seeded 3 new user(s); 0 already there.",
        "Seeded 0 new user(s); 3 already there.",
    ]
    assert "GET /users -> 200: 3 user(s) ada, grace, linus" in out
    assert "Error" not in out
