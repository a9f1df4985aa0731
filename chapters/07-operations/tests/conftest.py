"""Fixtures: a fresh app and database for every test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
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
