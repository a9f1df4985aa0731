"""The database chores: init-db keeps data, seed is idempotent."""

import sqlite3
import stat

import pytest
from sqlalchemy import inspect, text

from blog import create_app
from blog.db import Base, db


@pytest.mark.smoke
def test_init_db_creates_the_tables(flask_command, engine):
    engine.dispose()
    with engine.begin() as connection:  # start from an empty database
        connection.execute(text("DROP TABLE posts"))
        connection.execute(text("DROP TABLE users"))
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_init_db_keeps_existing_rows(flask_command, client, count_rows, rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    assert flask_command("init-db").exit_code == 0
    assert count_rows() == rows(users=1)


def test_init_db_drop_asks_first_and_can_be_refused(flask_command, client, count_rows, rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    result = flask_command("init-db", "--drop", input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
    assert count_rows() == rows(users=1)


def test_init_db_drop_when_confirmed(flask_command, client, count_rows, rows):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    result = flask_command("init-db", "--drop", input="y\n")
    assert result.exit_code == 0, result.output
    assert count_rows() == rows()


def test_seed_twice_gives_the_same_rows(flask_command, client, count_rows, rows):
    first = flask_command("seed")
    assert first.exit_code == 0, first.output
    assert "Seeded 3 new user(s)" in first.output
    after_first = count_rows()
    assert after_first == rows(users=3, posts=3)

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
    with app.app_context():
        db.engine.dispose()
