"""Pitfall 2: a session left open holds SQLite's write lock, and a connection of the pool."""

from pitfalls import run_demo

LOCKED = "(sqlite3.OperationalError) database is locked"


def test_a_transaction_left_open_locks_out_the_other_writer():
    out = run_demo("sqlite-locks-naive")
    assert "worker A  POST /users -> 400" in out
    assert "worker A's session still in a transaction: True" in out
    assert f"worker B  POST /users -> sqlalchemy.exc.OperationalError: {LOCKED}" in out
    # The next request on worker A sees its own uncommitted row; worker B's
    # session is stuck until someone rolls it back.
    assert "worker A  GET /users -> 200 ['ada']" in out
    assert "worker B  GET /users -> sqlalchemy.exc.PendingRollbackError" in out


def test_removing_the_session_at_teardown_frees_the_lock():
    out = run_demo("sqlite-locks-chapter")
    assert "worker A  POST /users -> 400" in out
    assert "worker A's session still in a transaction: False" in out
    assert "worker B  POST /users -> 201" in out
    assert "worker A  GET /users -> 200 ['grace']" in out
    assert "worker B  GET /users -> 200 ['grace']" in out
    assert "Error" not in out


def test_only_ending_the_transaction_releases_the_lock():
    lines = run_demo("sqlite-locks-endings").splitlines()
    outcomes = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines[1:]}
    assert outcomes == {
        "(nothing)": "sqlite3.OperationalError: database is locked",
        "Session.commit()": "ok",
        "Session.rollback()": "ok",
        "Session.remove()": "ok",
    }


def test_a_busy_timeout_lets_a_writer_wait_for_a_short_transaction():
    out = run_demo("sqlite-locks-busy-timeout")
    assert f"sqlite_timeout=0.0): commit -> sqlalchemy.exc.OperationalError: {LOCKED}" in out
    assert "sqlite_timeout=5.0): commit -> ok" in out
    assert "users now: ['ada', 'grace']" in out


def test_sessions_never_removed_run_the_pool_dry():
    out = run_demo("sqlite-locks-pool-naive")
    assert "worker A  GET /users -> 200 []" in out
    assert (
        "worker B  GET /users -> sqlalchemy.exc.TimeoutError: "
        "QueuePool limit of size 1 overflow 0 reached" in out
    )


def test_removed_sessions_share_even_a_pool_of_one():
    out = run_demo("sqlite-locks-pool-chapter")
    assert "worker A  GET /users -> 200 []" in out
    assert "worker B  GET /users -> 200 []" in out
    assert "Error" not in out
