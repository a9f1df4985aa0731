"""The connection budget, and what a client gets when no connection can be had."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from test_servers import serving

from blog import create_app, migrate
from blog.db import Base, Session
from blog.models import Post
from conftest import PASSWORD, keep


def test_the_budget_is_the_servers_own_arithmetic(flask_command, engine):
    if engine.dialect.name != "postgresql":
        result = flask_command("db-budget", "--hosts", "3", "--workers", "2")
        assert result.exit_code == 1
        assert "sqlite: no server, no connections to count." in result.output
        return
    with engine.connect() as connection:
        limit = int(connection.scalar(text("SHOW max_connections")))
        superuser = int(connection.scalar(text("SHOW superuser_reserved_connections")))
        reserved = connection.scalar(text("SELECT current_setting('reserved_connections', true)"))
    available = limit - superuser - int(reserved or 0)
    per_worker = 2  # POOL_SIZE 2 + POOL_MAX_OVERFLOW 0, the defaults

    fits = flask_command("db-budget", "--hosts", "3", "--workers", "2", "--others", "1")
    assert fits.exit_code == 0, fits.output
    assert f"= {available}\n" in fits.output
    assert "3 hosts x 2 workers x (POOL_SIZE 2 + POOL_MAX_OVERFLOW 0) + 1 others = 13" in (
        fits.output
    )
    assert f"Within budget: {available - 13} to spare." in fits.output

    hosts = available // (2 * per_worker) + 1  # one host too many
    over = flask_command("db-budget", "--hosts", str(hosts), "--workers", "2")
    assert over.exit_code == 1
    assert f"Over budget by {hosts * 2 * per_worker - available} connections." in over.output


@pytest.mark.postgres
def test_captured_the_shipped_numbers_fit_a_default_server(throwaway_postgres):
    app = create_app({"TESTING": True, "DATABASE_URL": throwaway_postgres.url})
    # Three hosts, each with gunicorn.conf.py's 2 workers.
    command = ["db-budget", "--hosts", "3", "--workers", "2"]
    with app.app_context():
        result = app.test_cli_runner().invoke(args=command)
        version = Session.scalar(text("SHOW server_version"))
        Session.remove()
    Session.get_bind().dispose()
    assert result.exit_code == 0, result.output
    assert "max_connections 100 - superuser_reserved_connections 3" in result.output
    assert "Within budget: 85 to spare." in result.output
    output = [f"# PostgreSQL {version}, its default settings", f"$ flask {' '.join(command)}"]
    keep("db-budget.md", "flask db-budget", output + result.output.splitlines())


@pytest.mark.postgres
def test_a_full_pool_is_a_503_and_changes_nothing(database_url, caplog):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "POOL_SIZE": 1,
            "POOL_MAX_OVERFLOW": 0,
            "POOL_TIMEOUT": 0.5,
        }
    )
    engine = Session.get_bind()
    migrate.upgrade(engine)
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    client = app.test_client()
    with engine.connect():  # the pool's only connection, held: as by a slow request
        started = time.monotonic()
        response = client.post("/api/users", json=body)
        waited = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The server is busy. Try again shortly."
    assert 0.5 <= waited < 5  # it waited POOL_TIMEOUT, not SQLAlchemy's 30 s
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            assert connection.scalar(select(func.count()).select_from(table)) == 0, table.name
    assert one_line_about_it(caplog) == "no free connection in the pool"
    # The connection is back: the same request now succeeds.
    assert client.post("/api/users", json=body).status_code == 201
    Session.remove()
    engine.dispose()


@pytest.mark.postgres
def test_a_server_out_of_connections_is_a_503(throwaway_postgres, caplog):
    superuser = throwaway_postgres.url
    admin = create_engine(superuser, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # A small server, and the app's own role, which is no superuser.
        connection.execute(text("ALTER SYSTEM SET max_connections = 10"))
        connection.execute(text("CREATE ROLE blog LOGIN"))
        connection.execute(text("GRANT ALL ON SCHEMA public TO blog"))
        limits = "SELECT current_setting('superuser_reserved_connections')::int"
        reserved = connection.scalar(text(limits))
    admin.dispose()
    throwaway_postgres.ctl("-m", "fast", "restart")
    url = make_url(superuser).set(username="blog").render_as_string(False)
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    engine = Session.get_bind()
    migrate.upgrade(engine)
    engine.dispose()  # the app holds no connection now
    taken = []  # every connection the server gives, until it says no more
    try:
        # The app's role gets max_connections minus the reserved ones: the budget's sum.
        refusal = fill(url, taken)
        assert len(taken) == 10 - reserved
        assert "reserved for roles with the SUPERUSER attribute" in refusal
        refusal = fill(superuser, taken)  # a superuser takes the rest
        assert len(taken) == 10 and "too many clients" in refusal
        response = app.test_client().get("/api/users")
    finally:
        for connection in taken:
            connection.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is unavailable. Try again shortly."
    assert "too many clients" in one_line_about_it(caplog)
    assert app.test_client().get("/api/users").status_code == 200  # once connections are free
    Session.remove()
    engine.dispose()


def fill(url: str, taken: list) -> str:
    """Open connections to ``url`` into ``taken`` until the server refuses one: its words."""
    other = create_engine(url, poolclass=NullPool)
    while len(taken) < 100:
        try:
            taken.append(other.connect())
        except OperationalError as error:
            return str(error.orig)
    raise AssertionError("the server took 100 connections")


def test_an_unexpected_integrity_error_is_still_a_500(client, monkeypatch, caplog):
    def broken_write(*args, **kwargs):
        raise IntegrityError("INSERT INTO users ...", {}, Exception("a constraint we forgot"))

    monkeypatch.setattr(Session, "commit", broken_write)
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    response = client.post("/api/users", json=body)
    assert response.status_code == 500
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["Unhandled exception"]


def one_line_about_it(caplog) -> str:
    """Why the 503: said in the request's log line, and no traceback logged."""
    assert not [record for record in caplog.records if record.exc_info]
    lines = [record for record in caplog.records if record.name == "blog.request"]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert lines[0].status == 503
    return lines[0].unavailable


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read() or b"{}")


@pytest.mark.postgres
def test_captured_a_postgres_restart_under_load_loses_no_acknowledged_write(
    throwaway_postgres, tmp_path, monkeypatch
):
    monkeypatch.setenv("FLASK_RATELIMIT_PER_CLIENT", "100000 per minute")
    with serving("gunicorn", tmp_path, throwaway_postgres.url, seed=False) as (base, log):
        body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
        assert post(base + "/api/users", body, {})[0] == 201
        login = post(base + "/api/auth/login", {"username": "ada", "password": PASSWORD}, {})
        auth = {"Authorization": f"Bearer {login[2]['token']}"}

        answers: list[tuple[float, int, dict, dict]] = []  # when, status, headers, body
        stop = threading.Event()

        def write(client: int) -> None:  # one client, one write after another
            n = 0
            while not stop.is_set():
                n += 1
                status, headers, answer = post(
                    base + "/api/posts", {"title": f"{client}-{n}", "body": "x"}, auth
                )
                answers.append((time.monotonic(), status, headers, answer))

        clients = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        started = time.monotonic()
        for thread in clients:
            thread.start()
        # About 10 s of writes: 3 s before the restart, the rest after it.
        wait_for(lambda: time.monotonic() - started > 3, "3 s of writes")
        restart_began = time.monotonic()
        throwaway_postgres.ctl("-m", "fast", "restart")
        restart_ended = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 10, "10 s of writes")
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
        served_log = log.read_text()

    statuses = [status for _, status, _, _ in answers]
    failed = [a for a in answers if a[1] != 201]
    assert set(statuses) == {201, 503}, "every failure is a 503, and the restart was felt"
    assert all(headers.get("Retry-After") == "1" for _, _, headers, _ in failed)
    # Each 503 logged once, in its request line, with the reason; no traceback.
    assert "Traceback" not in served_log
    reasons = Counter(
        re.sub(r"port \d+", "port <port>", json.loads(line.partition(" unavailable=")[2] or '""'))
        for line in served_log.splitlines()
        if " 503 " in line
    )
    assert reasons.total() == len(failed) and "" not in reasons
    first_failure = min(when for when, *_ in failed)
    last_answer = max(when for when, *_ in answers)
    last_failure = max(when for when, *_ in failed)
    recovered = [when for when, status, *_ in answers if status == 201 and when > last_failure]
    assert len(recovered) >= 100, "the app did not serve again without a restart"
    # Back to serving soon after PostgreSQL is: the pool replaced its dead connections.
    assert recovered[0] - restart_ended < 5

    acknowledged = {answer["id"] for _, status, _, answer in answers if status == 201}
    engine = create_engine(throwaway_postgres.url)
    with engine.connect() as connection:
        stored = set(connection.scalars(select(Post.id)))
        version = connection.scalar(text("SHOW server_version"))
    engine.dispose()
    assert acknowledged <= stored

    keep(
        "postgres-restart.md",
        "PostgreSQL restarted under load",
        [
            f"PostgreSQL {version} restarted (pg_ctl restart -m fast) under gunicorn "
            f"(gunicorn.conf.py: 2 workers) and 2 clients writing posts, one after another",
            f"writes answered in {last_answer - started:.1f} s: {len(answers)}",
            f"  201 Created: {statuses.count(201)}, all found in the database afterwards",
            f"  503 Service Unavailable: {len(failed)}, each with Retry-After: 1",
            f"  anything else: {len(answers) - statuses.count(201) - len(failed)}",
            f"pg_ctl restart returned after {restart_ended - restart_began:.2f} s",
            f"first 503 at +{first_failure - restart_began:.2f} s,"
            f" last 503 at +{last_failure - restart_began:.2f} s",
            f"next 201 at +{recovered[0] - restart_began:.2f} s, with no restart of gunicorn",
            "the reasons in the request log lines (unavailable=...):",
            *(f"  {count} x {reason}" for reason, count in reasons.most_common()),
        ],
    )


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)
