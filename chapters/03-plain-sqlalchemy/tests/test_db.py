"""The session is closed after every request, and db.py works without a Flask app."""

import sqlite3
import threading

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from blog import api, create_app, db
from blog.models import Post, User


def test_no_connection_is_left_checked_out(client, engine):
    response = client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    assert response.status_code == 201
    user_id = response.json["id"]
    assert client.get("/users").status_code == 200
    assert client.get(f"/users/{user_id}/posts").status_code == 200
    assert client.post("/users", data="{bad", content_type="application/json").status_code == 400
    assert client.get(f"/users/{user_id + 1}").status_code == 404
    assert engine.pool.checkedout() == 0


def test_a_failed_request_rolls_back(app, client, engine, count_rows, monkeypatch, rows):
    # Make the commit fail after the INSERT reached the database.
    def failing_commit():
        db.Session.flush()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db.Session, "commit", failing_commit)
    response = client.post("/users", json={"username": "ada", "email": "a@b.io"})
    assert response.status_code == 500
    monkeypatch.undo()
    assert engine.pool.checkedout() == 0
    # The next request commits: only its own row may be written, not ada.
    assert client.post("/users", json={"username": "grace", "email": "g@b.io"}).status_code == 201
    assert [u["username"] for u in client.get("/users").json] == ["grace"]
    assert count_rows() == rows(users=1)


def test_db_module_works_without_a_flask_app(tmp_path):
    """A script can use the same models and session registry with no app at all."""
    engine = db.configure(f"sqlite:///{tmp_path / 'script.sqlite'}")
    db.Base.metadata.create_all(engine)
    db.Session.add(User(username="script", email="script@example.com"))
    db.Session.commit()
    assert db.Session.scalars(select(User.username)).all() == ["script"]
    db.Session.remove()
    engine.dispose()


@pytest.mark.parametrize("committed", [True, False])
def test_session_is_removed_at_teardown(app, engine, committed):
    with app.app_context():
        user = User(username="ada", email="a@b.io")
        db.Session.add(user)
        db.Session.flush()  # a write transaction is open now
        assert engine.pool.checkedout() == 1
        if committed:
            db.Session.commit()
        session = db.Session()
    # Leaving the app context ran teardown, which called Session.remove():
    # the session was closed (it forgot its objects) and its connection returned.
    assert user not in session
    assert engine.pool.checkedout() == 0


def test_the_user_list_reads_through_the_session(app):
    # The list sees what the request's own session sees, even before a commit.
    with app.test_request_context():
        db.Session.add(User(username="ada", email="a@b.io"))
        db.Session.flush()
        assert [user["username"] for user in api.list_users()] == ["ada"]


def test_foreign_keys_are_enforced(app):
    with app.app_context():
        db.Session.add(Post(user_id=999, title="Orphan", body="Nobody wrote this."))
        with pytest.raises(IntegrityError):
            db.Session.commit()


def test_database_errors_do_not_show_the_values(app):
    """Errors, and the logs they end up in, show the SQL but not the users' data."""
    with app.app_context():
        db.Session.add(Post(user_id=999, title="Orphan", body="a private message"))
        with pytest.raises(IntegrityError) as error:
            db.Session.commit()
    assert "INSERT INTO posts" in str(error.value)
    assert "a private message" not in str(error.value)


def test_a_username_taken_meanwhile_is_a_conflict(client, engine, count_rows, monkeypatch, rows):
    check = db.Session.scalar

    def another_request_takes_it_after_the_check(statement):
        found = check(statement)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (username, email) VALUES ('ada', 'a@b.io')"))
        return found

    monkeypatch.setattr(db.Session, "scalar", another_request_takes_it_after_the_check)
    response = client.post("/users", json={"username": "ada", "email": "other@b.io"})
    assert response.status_code == 409, response.json
    assert "taken" in response.json["message"]
    assert count_rows() == rows(users=1)
    assert engine.pool.checkedout() == 0


def test_a_post_for_a_user_deleted_meanwhile_is_404(client, engine, count_rows, monkeypatch, rows):
    user_id = client.post("/users", json={"username": "ada", "email": "a@b.io"}).json["id"]
    read_body = api.json_body

    def delete_the_user_first(fields):  # another request deletes ada mid-way
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
        return read_body(fields)

    monkeypatch.setattr(api, "json_body", delete_the_user_first)
    response = client.post(f"/users/{user_id}/posts", json={"title": "Hi", "body": "Hello."})
    assert response.status_code == 404, response.json
    assert f"no user with id {user_id}" in response.json["message"]
    assert count_rows() == rows()


def test_a_database_locked_past_the_timeout_is_a_503(tmp_path):
    path = tmp_path / "locked.sqlite"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SQLITE_TIMEOUT": 0.1})
    db.Base.metadata.create_all(db.Session.get_bind())
    other_writer = sqlite3.connect(path)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        response = app.test_client().post("/users", json={"username": "ada", "email": "a@b.io"})
    finally:
        other_writer.rollback()
        other_writer.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is busy. Try again shortly."
    db.Session.remove()
    db.Session.get_bind().dispose()


def test_a_writer_waits_out_a_lock_shorter_than_the_timeout(tmp_path):
    path = tmp_path / "locked.sqlite"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SQLITE_TIMEOUT": 30})
    engine = db.Session.get_bind()
    timeouts = []  # what each new connection was given: SQLITE_TIMEOUT, not the driver's default
    event.listen(engine, "do_connect", lambda *args: timeouts.append(args[3].get("timeout")))
    db.Base.metadata.create_all(engine)
    other_writer = sqlite3.connect(path, check_same_thread=False)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock, for half a second
    release = threading.Timer(0.5, other_writer.rollback)
    release.start()
    try:
        response = app.test_client().post("/users", json={"username": "ada", "email": "a@b.io"})
    finally:
        release.join()
        other_writer.close()
    assert response.status_code == 201, response.json
    assert timeouts and set(timeouts) == {30}
    db.Session.remove()
    engine.dispose()
