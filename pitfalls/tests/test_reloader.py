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


ROLE = re.compile(
    r"^create_app\(\) in pid (\d+) \(parent pid (\d+)\), WERKZEUG_RUN_MAIN=(\S+)$", re.MULTILINE
)


def test_the_child_serves_and_watches_and_exits_3_for_the_parent_to_restart_it():
    out = run_demo("reloader-roles")
    (parent, _, main), (child, child_parent, child_main), (new, new_parent, new_main) = (
        ROLE.findall(out)
    )
    assert (main, child_main, new_main) == ("None", "true", "true")
    assert child_parent == parent and new_parent == parent  # the parent starts both children
    answers = re.findall(r"^GET / -> answered by pid (\d+)$", out, re.MULTILINE)
    assert answers == [child, new]  # the child serves; the parent never does
    # The change is seen in the child, which exits with 3; the parent starts a new one.
    assert re.search(
        rf"^ \* Detected change in .*roles_app\.py', reloading\n"
        rf"pid {parent}: its child pid {child} exited with status 3\n"
        rf" \* Restarting with stat\n",
        out,
        re.MULTILINE,
    )


def test_a_transaction_left_open_at_start_up_locks_out_the_reloaders_child():
    out = run_demo("reloader-locked")
    calls = FACTORY_CALL.findall(out)
    assert [main for _, main in calls] == ["None", "true"]
    assert f"pid {calls[0][0]} sees 3 users, in a transaction it never ends" in out
    assert "(sqlite3.OperationalError) database is locked" in out  # the child, at start-up
    assert "IntegrityError" not in out  # it never got as far as the duplicate rows
    assert "GET /users -> 500" in out
    other_writer = "another program writes (it waits up to 1 s):\n  sqlite3.OperationalError"
    assert f"{other_writer}: database is locked" in out
    assert "users in the database: none" in out  # the parent's rows were never committed
