"""The session is closed after every request, and db.py works without a Flask app."""

import re
import selectors
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from blog import create_app, db, users
from blog.models import Post, User
from conftest import PASSWORD


def test_no_connection_is_left_checked_out(client, ada, engine):
    assert client.get("/api/users").status_code == 200
    assert client.get(f"/api/users/{ada.id}/posts").status_code == 200
    post = {"title": "T", "body": "B"}
    assert client.post("/api/posts", json=post, headers=ada.headers).status_code == 201
    assert client.post("/api/auth/logout", headers=ada.headers).status_code == 204
    response = client.post("/api/users", data="{bad", content_type="application/json")
    assert response.status_code == 400
    # Last, a read: nothing commits after it, so only the teardown can end its transaction.
    assert client.get(f"/api/users/{ada.id + 1}").status_code == 404
    assert engine.pool.checkedout() == 0


def test_a_failed_request_rolls_back(app, client, engine, count_rows, rows, monkeypatch):
    # Make the commit fail after the INSERT reached the database.
    def failing_commit():
        db.Session.flush()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db.Session, "commit", failing_commit)
    body = {"username": "ada", "email": "a@b.io", "password": PASSWORD}
    response = client.post("/api/users", json=body)
    assert response.status_code == 500
    monkeypatch.undo()
    assert engine.pool.checkedout() == 0
    # The next request commits: only its own row may be written, not ada.
    body = {"username": "grace", "email": "g@b.io", "password": PASSWORD}
    assert client.post("/api/users", json=body).status_code == 201
    assert [u["username"] for u in client.get("/api/users").json["items"]] == ["grace"]
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
        page = users.list_users()[0].get_json()  # (answer, status)
        assert [user["username"] for user in page["items"]] == ["ada"]


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


def test_a_database_locked_past_the_timeout_is_a_503(tmp_path):
    path = tmp_path / "locked.sqlite"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SQLITE_TIMEOUT": 0.1})
    db.Base.metadata.create_all(db.Session.get_bind())
    other_writer = sqlite3.connect(path)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
    body = {"username": "ada", "email": "a@b.io", "password": PASSWORD}
    try:
        response = app.test_client().post("/api/users", json=body)
    finally:
        other_writer.rollback()
        other_writer.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is busy. Try again shortly."
    db.Session.remove()
    db.Session.get_bind().dispose()


def test_a_database_that_does_not_answer_is_a_503_and_logged_once(unavailable_client, caplog):
    response = unavailable_client.get("/api/users")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is unavailable. Try again shortly."
    # An outage is no bug: its request line says why, with no traceback per request.
    assert not [record for record in caplog.records if record.exc_info]
    (line,) = [record for record in caplog.records if record.name == "blog.request"]
    # PostgreSQL: nothing listens on the port; SQLite: the file's folder is missing.
    assert re.search("Connection refused|unable to open database file", line.unavailable)


def test_any_other_operational_error_is_a_503_logged_whole(client, monkeypatch, caplog):
    def failing(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, Exception("disk full"))

    monkeypatch.setattr(db.Session, "scalars", failing)
    response = client.get("/api/users")
    assert response.status_code == 503
    logged = [r for r in caplog.records if r.getMessage() == "The database is unavailable"]
    assert len(logged) == 1 and logged[0].exc_info  # with its traceback: worth a look


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
    body = {"username": "ada", "email": "a@b.io", "password": PASSWORD}
    try:
        response = app.test_client().post("/api/users", json=body)
    finally:
        release.join()
        other_writer.close()
    assert response.status_code == 201, response.json
    assert timeouts and set(timeouts) == {30}
    db.Session.remove()
    engine.dispose()


def test_a_connection_that_died_in_the_pool_is_replaced(client, engine):
    pooled = []
    event.listen(
        engine, "checkin", lambda dbapi_connection, record: pooled.append(dbapi_connection)
    )
    assert client.get("/api/users").status_code == 200  # its connection goes back to the pool
    end_behind_the_pools_back(pooled[-1], engine)
    assert client.get("/api/users").status_code == 200


def end_behind_the_pools_back(dbapi_connection, engine) -> None:
    """PostgreSQL: the server ends it, as a restart would. SQLite has no server: close it."""
    if engine.dialect.name != "postgresql":
        dbapi_connection.close()
        return
    pid = dbapi_connection.info.backend_pid
    other = create_engine(engine.url)  # not the pool: it would hand out that same connection
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    # After a restart, the server's goodbye arrives long before the next request.
    # Wait for it here too: a ping sent while the server is still closing races it.
    with selectors.DefaultSelector() as selector:
        selector.register(dbapi_connection.fileno(), selectors.EVENT_READ)
        assert selector.select(timeout=10), "the server did not end the connection in 10 s"
