"""Fixtures. There is one global app here, so each test points it at a new file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

# The app reads FLASK_* variables (FLASK_DEBUG among them) when it is imported,
# so they are cleared first: the shell the tests run in cannot change them.
for name in [name for name in os.environ if name.startswith("FLASK_")]:
    del os.environ[name]

from app import SCHEMA  # noqa: E402
from app import app as blog_app  # noqa: E402


@pytest.fixture
def database(tmp_path) -> str:
    path = str(tmp_path / "blog.sqlite")
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
    connection.close()
    return path


@pytest.fixture
def app(database: str, monkeypatch) -> Iterator[Flask]:
    # The app is shared by every test, so undo the changes afterwards.
    monkeypatch.setitem(blog_app.config, "TESTING", True)
    monkeypatch.setitem(blog_app.config, "DATABASE", database)
    yield blog_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def count_rows(database: str) -> Callable[[], dict[str, int]]:
    """Count the rows of every table, to prove a failed request wrote nothing."""

    def count() -> dict[str, int]:
        connection = sqlite3.connect(database)
        try:
            return {
                table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("users", "posts")
            }
        finally:
            connection.close()

    return count
