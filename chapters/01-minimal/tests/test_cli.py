"""init-db creates the tables and keeps the rows that are there."""

import sqlite3
import stat

import pytest


def table_names(path):
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}
    finally:
        connection.close()


@pytest.mark.smoke
def test_init_db_creates_the_tables(runner, app, tmp_path, monkeypatch):
    empty = str(tmp_path / "empty.sqlite")
    monkeypatch.setitem(app.config, "DATABASE", empty)
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    assert table_names(empty) >= {"users", "posts"}


def test_init_db_keeps_existing_rows(runner, client, count_rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    for _ in range(3):
        assert runner.invoke(args=["init-db"]).exit_code == 0
    assert count_rows()["users"] == 1


def test_init_db_makes_a_private_file_in_wal_mode(runner, app, tmp_path, monkeypatch):
    path = tmp_path / "new.sqlite"
    monkeypatch.setitem(app.config, "DATABASE", str(path))
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # yours only, not readable by all
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.execute("CREATE TABLE scratch (x)")  # a write creates the -wal file
    assert stat.S_IMODE(path.with_name("new.sqlite-wal").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("new.sqlite-shm").stat().st_mode) == 0o600
    connection.close()
