"""The database chores: init-db keeps data, seed is idempotent."""

import shutil
import sqlite3
import stat

import pytest
from sqlalchemy import inspect

from blog import create_app, migrate
from blog.db import Base, Session


def test_init_db_upgrades_an_empty_database(empty_app):
    with empty_app.app_context():
        result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    (head,) = migrate.head_revisions()
    assert f"schema at revision {head}" in result.output
    tables = set(inspect(Session.get_bind()).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_init_db_keeps_existing_rows(flask_command, client, count_rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    assert flask_command("init-db").exit_code == 0
    assert count_rows()["users"] == 1


def test_init_db_drop_asks_first_and_can_be_refused(flask_command, client, count_rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    result = flask_command("init-db", "--drop", input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
    assert count_rows()["users"] == 1


def test_init_db_drop_when_confirmed(flask_command, client, count_rows, rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    result = flask_command("init-db", "--drop", input="y\n")
    assert result.exit_code == 0, result.output
    assert count_rows() == rows()


def test_seed_twice_gives_the_same_rows(flask_command, client, count_rows):
    first = flask_command("seed")
    assert first.exit_code == 0, first.output
    assert "Seeded 3 new user(s)" in first.output
    after_first = count_rows()
    assert after_first["users"] == after_first["posts"] == 3

    second = flask_command("seed")
    assert "Seeded 0 new user(s); 3 already there" in second.output
    assert count_rows() == after_first
    usernames = [u["username"] for u in client.get("/users").json]
    assert usernames == ["ada", "grace", "linus"]


def test_init_db_makes_a_private_file_in_wal_mode(tmp_path):
    path = tmp_path / "new.sqlite"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # yours only, not readable by all
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.execute("CREATE TABLE scratch (x)")  # a write creates the -wal file
    assert stat.S_IMODE(path.with_name("new.sqlite-wal").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("new.sqlite-shm").stat().st_mode) == 0o600
    connection.close()
    Session.remove()
    Session.get_bind().dispose()


def test_rename_user(flask_command, client):
    client.post("/users", json={"username": "Ada", "email": "ada@example.com"})
    result = flask_command("rename-user", "Ada", "ada")
    assert result.exit_code == 0, result.output
    assert [user["username"] for user in client.get("/users").json] == ["ada"]


def test_rename_user_refuses_a_missing_user_and_a_taken_name(flask_command, client):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    client.post("/users", json={"username": "grace", "email": "grace@example.com"})
    missing = flask_command("rename-user", "linus", "torvalds")
    assert (missing.exit_code, missing.output) == (1, "Error: There is no user 'linus'.\n")
    taken = flask_command("rename-user", "grace", "ADA")
    assert (taken.exit_code, taken.output) == (1, "Error: The username 'ADA' is taken.\n")
    assert [user["username"] for user in client.get("/users").json] == ["ada", "grace"]


def sqlite_app(path):
    """An app on a SQLite file, whatever TEST_DATABASE_URL says: backups are SQLite's."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    return app


def users_in(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT username FROM users").fetchall()
    finally:
        connection.close()


@pytest.mark.smoke
def test_a_copy_of_the_file_misses_what_the_wal_holds_and_backup_does_not(tmp_path):
    live = tmp_path / "live.sqlite"
    app = sqlite_app(live)
    client = app.test_client()
    assert client.post("/users", json={"username": "ada", "email": "a@b.c"}).status_code == 201
    # The app still holds a connection, so SQLite has not yet copied the -wal
    # file's pages into the database file: the new row is in blog.sqlite-wal.
    shutil.copy(live, tmp_path / "cp.sqlite")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup.sqlite")])
    assert result.exit_code == 0, result.output
    Session.remove()
    Session.get_bind().dispose()

    assert users_in(tmp_path / "cp.sqlite") == []  # committed, and missing from the copy
    assert users_in(tmp_path / "backup.sqlite") == [("ada",)]
    assert stat.S_IMODE((tmp_path / "backup.sqlite").stat().st_mode) == 0o600


def test_backup_never_overwrites_a_file(tmp_path):
    app = sqlite_app(tmp_path / "live.sqlite")
    (tmp_path / "old-backup.sqlite").write_text("yesterday")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "old-backup.sqlite")])
    Session.remove()
    Session.get_bind().dispose()
    assert result.exit_code == 1
    assert "exists; a backup goes to a new file" in result.output
    assert (tmp_path / "old-backup.sqlite").read_text() == "yesterday"


def test_backup_of_a_database_server_names_the_servers_own_tool(flask_command, engine, tmp_path):
    result = flask_command("backup", str(tmp_path / "copy.sqlite"))
    if engine.dialect.name == "sqlite":
        assert result.exit_code == 0, result.output
    else:
        assert (result.exit_code, result.output) == (
            1,
            f"Error: {engine.dialect.name}: use the server's own tool (pg_dump).\n",
        )
        assert not (tmp_path / "copy.sqlite").exists()
