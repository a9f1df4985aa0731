"""Deploys and stops against a real gunicorn: a reload never takes the service down.

The server runs from a copy of the chapter, a release folder, so that a test
can put the next release's code in it while the server runs, as a deploy does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_servers import BIN, CHAPTER, call, free_port

from blog import migrate

# Bounds against a hang, not speed tests: a busy machine is slow to start workers.
START = 60
SETTLE = 60
WORKERS = 2

# The next release: a migration, and a route that only its code serves.
NEXT_REVISION = "e1d2c3b4a5f6"
MIGRATION = '''"""The next release: posts get a summary."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"


def upgrade():
    op.add_column("posts", sa.Column("summary", sa.String(200), nullable=True))


def downgrade():
    op.drop_column("posts", "summary")
'''
ROUTE = """

@bp.get("/api/release")
def release() -> dict[str, str]:
    return {"release": "next"}
"""


def wait_for(condition, what: str, log: Path, bound: float = SETTLE):
    """Poll ``condition`` until it returns something true, for at most ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen:\n{log.read_text()}")
        time.sleep(0.1)
    return result


def workers(master: subprocess.Popen) -> set[int]:
    """The pids of the master's children: its workers, and a start check while one runs."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


@pytest.fixture
def release(tmp_path) -> Path:
    """A copy of the chapter's code and gunicorn.conf.py: the release the server runs."""
    folder = tmp_path / "release"
    shutil.copytree(CHAPTER / "blog", folder / "blog", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CHAPTER / "gunicorn.conf.py", folder)
    return folder


@contextlib.contextmanager
def gunicorn(folder: Path, database_url: str, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Migrate, then serve ``folder`` with gunicorn.conf.py; yield the URL and the master."""
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "a-real-secret-of-some-length",
        "FLASK_DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(WORKERS),
    }
    # From the release folder, as gunicorn runs: its blog/ comes first on sys.path.
    for command in (["init-db"], ["seed"]):
        subprocess.run([BIN / "flask", "--app", "blog", *command], cwd=folder, env=env, check=True)
    port = free_port()
    with log.open("w") as output:
        master = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # Every worker has imported the code: one still importing would read what a
        # test puts in the folder next, and would miss the signal of a stop.
        ready = "Worker ready (pid: "
        wait_for(
            lambda: master.poll() is not None or log.read_text().count(ready) == WORKERS,
            "start",
            log,
            START,
        )
        assert master.poll() is None, log.read_text()
        yield base, master
    finally:
        if master.poll() is None:
            master.kill()
        master.wait(timeout=10)


def deploy_next_release(folder: Path) -> None:
    """Put the next release's code in place, as a deploy copies it, without migrating."""
    (down,) = migrate.head_revisions()
    versions = folder / "blog" / "migrations" / "versions"
    migration = MIGRATION.format(revision=NEXT_REVISION, down=down)
    (versions / f"next_{NEXT_REVISION}_posts_summary.py").write_text(migration)
    # Not in wsgi.py: the start check runs that as __main__, where no `app` is made.
    with (folder / "blog" / "health.py").open("a") as health:
        health.write(ROUTE)


def test_a_reload_before_the_migration_keeps_serving_and_one_after_serves_the_new_code(
    release, database_url, tmp_path
):
    log = tmp_path / "gunicorn.log"
    with gunicorn(release, database_url, log) as (base, master):
        old = workers(master)
        deploy_next_release(release)

        # The wrong order: reload before migrating. The start check refuses the
        # new code, and the old workers go on serving the old one.
        master.send_signal(signal.SIGHUP)
        wait_for(
            lambda: (
                "Reload refused" in log.read_text()
                or master.poll() is not None
                or log.read_text().count("Worker ready") > WORKERS  # not refused: new workers
            ),
            "the reload",
            log,
        )
        assert master.poll() is None, log.read_text()
        assert call(base + "/api/users")[0] == 200
        assert call(base + "/api/release")[0] == 404  # the old code
        assert workers(master) == old
        refusals = [line for line in log.read_text().splitlines() if "Reload refused" in line]
        assert len(refusals) == 1 and f"newest revision ({NEXT_REVISION})" in refusals[0]
        assert "Traceback" not in log.read_text()

        # The right order: migrate, then reload. The old code still serves the
        # migrated schema while it waits (each migration leaves it working).
        env = {
            **os.environ,
            "FLASK_SECRET_KEY": "a-real-secret-of-some-length",
            "FLASK_DATABASE_URL": database_url,
        }
        subprocess.run(
            [BIN / "flask", "--app", "blog", "init-db"], cwd=release, env=env, check=True
        )
        assert call(base + "/readyz")[0] == 200
        master.send_signal(signal.SIGHUP)
        wait_for(
            lambda: (
                log.read_text().count("Worker ready") == 2 * WORKERS and not workers(master) & old
            ),
            "the new workers",
            log,
        )
        status, body = call(base + "/api/release")
        assert (status, json.loads(body)) == (200, {"release": "next"})
        assert call(base + "/readyz")[0] == 200
        assert master.poll() is None


def test_a_worker_restarted_before_the_migration_serves_and_says_it_is_not_ready(
    release, database_url, tmp_path
):
    log = tmp_path / "gunicorn.log"
    with gunicorn(release, database_url, log) as (base, master):
        old = workers(master)
        deploy_next_release(release)

        # gunicorn replaces a worker that died (crashed, or killed after `timeout`).
        # The new one imports the new code, whose migration has not run yet.
        killed = min(old)
        os.kill(killed, signal.SIGKILL)
        wait_for(
            lambda: (
                log.read_text().count("Worker ready") == WORKERS + 1 or master.poll() is not None
            ),
            "the new worker",
            log,
        )
        assert master.poll() is None, log.read_text()
        assert len(workers(master)) == WORKERS and killed not in workers(master)
        for _ in range(2 * WORKERS):
            assert call(base + "/api/users")[0] == 200
        lines = log.read_text().splitlines()
        not_ready = [line for line in lines if "Serving, but not ready:" in line]
        assert len(not_ready) == 1 and f"newest revision ({NEXT_REVISION})" in not_ready[0]
        assert "Traceback" not in log.read_text()


def test_sigterm_drains_first_then_lets_requests_in_progress_finish(
    release, database_url, tmp_path
):
    log = tmp_path / "gunicorn.log"
    with gunicorn(release, database_url, log) as (base, master):
        host, port = base.removeprefix("http://").split(":")
        results: list[int | None] = []
        taken_out = threading.Event()  # the load balancer saw /readyz answer 503
        deadline = time.monotonic() + SETTLE

        def client() -> None:
            # Sends until the load balancer takes the server out of rotation.
            while not taken_out.is_set() and time.monotonic() < deadline:
                results.append(call(base + "/api/users")[0])

        def load_balancer() -> None:
            while time.monotonic() < deadline and master.poll() is None:
                if call(base + "/readyz")[0] == 503:
                    taken_out.set()
                    return
                time.sleep(0.05)

        clients = [threading.Thread(target=client) for _ in range(3)]
        for thread in clients:
            thread.start()
        probe = threading.Thread(target=load_balancer)
        try:
            wait_for(lambda: len(results) >= 20, "some load", log)
            assert call(base + "/readyz")[0] == 200
            master.send_signal(signal.SIGTERM)
            probe.start()
            probe.join(SETTLE)
            assert taken_out.is_set(), log.read_text()
            # Taken out of rotation, yet still serving: a request sent before the
            # load balancer noticed still gets its answer.
            assert call(base + "/api/users")[0] == 200

            # A request in progress when the workers are told to stop: half of it
            # sent now, the rest once one worker has exited.
            with socket.create_connection((host, int(port)), timeout=SETTLE) as connection:
                connection.sendall(b"GET /api/users HTTP/1.1\r\nHost: blog\r\n")
                wait_for(lambda: "Worker exiting" in log.read_text(), "a worker's exit", log)
                assert master.poll() is None
                connection.sendall(b"Connection: close\r\n\r\n")
                answer = connection.makefile("rb").read()
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        finally:
            taken_out.set()
            for thread in clients:
                thread.join(SETTLE)

        assert master.wait(timeout=SETTLE) == 0
        assert results and set(results) == {200}, sorted(set(results), key=str)
        assert "Draining for" in log.read_text()


def test_readyz_answers_503_once_the_server_is_shutting_down(app, client):
    assert client.get("/readyz").status_code == 200
    app.extensions["blog.shutting_down"] = True  # what gunicorn.conf.py sets on a stop
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": "The server is shutting down."}
    assert client.get("/healthz").status_code == 200  # alive: nothing to restart
