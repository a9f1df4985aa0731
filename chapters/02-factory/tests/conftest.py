"""Fixtures: a fresh app and database for every test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, create_engine, func, select, text

from blog import create_app
from blog.db import Base, db

# Set TEST_DATABASE_URL (e.g. postgresql+psycopg://127.0.0.1/test) to run the
# whole suite against PostgreSQL; by default every test gets a SQLite file.
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


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
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
        }
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


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


@pytest.fixture
def engine(app: Flask) -> Engine:
    """The engine every route and command uses: the extension's."""
    with app.app_context():
        return db.engine


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
