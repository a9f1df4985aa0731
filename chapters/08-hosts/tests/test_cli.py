"""The database chores: init-db keeps data, seed is idempotent, expired tokens go."""

import sqlite3
import stat
from datetime import timedelta

from sqlalchemy import inspect, select, update

from blog import create_app, migrate
from blog.auth import utcnow
from blog.db import Base, Session
from blog.models import Token
from conftest import PASSWORD


def test_init_db_creates_the_tables(flask_command, engine):
    migrate.downgrade(engine, "base")  # start from an empty database
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_init_db_keeps_existing_rows(flask_command, ada, count_rows):
    before = count_rows()
    assert flask_command("init-db").exit_code == 0
    assert count_rows() == before


def test_init_db_drop_asks_first_and_can_be_refused(flask_command, ada, count_rows):
    before = count_rows()
    result = flask_command("init-db", "--drop", input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
    assert count_rows() == before


def test_init_db_drop_when_confirmed(flask_command, ada, count_rows, rows):
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
    usernames = [u["username"] for u in client.get("/api/users").json["items"]]
    assert usernames == ["linus", "grace", "ada"]  # newest first


def test_seed_skips_a_demo_name_registered_in_another_case(flask_command, register, count_rows):
    register("Ada")
    result = flask_command("seed")
    assert result.exit_code == 0, result.output
    assert "Seeded 2 new user(s); 1 already there" in result.output
    assert count_rows()["users"] == 3


def test_delete_expired_tokens_keeps_the_live_ones(app, client, flask_command, ada, grace):
    with app.app_context():  # ada's and grace's logins expire
        Session.execute(update(Token).values(expires_at=utcnow() - timedelta(seconds=1)))
        Session.commit()
    login = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})

    result = flask_command("delete-expired-tokens")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 expired token(s) and 0 reset request(s)." in result.output
    with app.app_context():
        assert Session.scalars(select(Token.user_id)).all() == [ada.id]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {login.json['token']}"})
    assert me.status_code == 200


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
    connection.close()
    Session.remove()
    Session.get_bind().dispose()


def usernames(client):
    return [user["username"] for user in client.get("/api/users").json["items"]]


def test_rename_user(flask_command, client, register):
    register("Ada")
    result = flask_command("rename-user", "Ada", "ada")
    assert result.exit_code == 0, result.output
    assert usernames(client) == ["ada"]


def test_rename_user_refuses_a_missing_user_and_a_taken_name(flask_command, client, ada, grace):
    missing = flask_command("rename-user", "linus", "torvalds")
    assert (missing.exit_code, missing.output) == (1, "Error: There is no user 'linus'.\n")
    taken = flask_command("rename-user", "grace", "ADA")
    assert (taken.exit_code, taken.output) == (1, "Error: The username 'ADA' is taken.\n")
    assert usernames(client) == ["grace", "ada"]


def test_backup_copies_what_the_wal_holds_into_a_private_file(tmp_path):
    live = tmp_path / "live.sqlite"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{live}"})
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(args=["init-db"]).exit_code == 0
        assert runner.invoke(args=["seed"]).exit_code == 0
        result = runner.invoke(args=["backup", str(tmp_path / "backup.sqlite")])
        again = runner.invoke(args=["backup", str(tmp_path / "backup.sqlite")])
    Session.remove()
    Session.get_bind().dispose()
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "backup.sqlite").stat().st_mode) == 0o600
    connection = sqlite3.connect(tmp_path / "backup.sqlite")
    assert connection.execute("SELECT count(*) FROM users").fetchone() == (3,)
    connection.close()
    assert again.exit_code == 1
    assert "exists; a backup goes to a new file" in again.output
