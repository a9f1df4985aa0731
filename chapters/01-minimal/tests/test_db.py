"""Every request closes its connection, and a failed request commits nothing."""

import sqlite3
import threading

import app as app_module
import pytest


@pytest.fixture
def connections(monkeypatch):
    """Record every connection the app opens."""
    opened = []
    real_connect = sqlite3.connect

    def recording_connect(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        opened.append(connection)
        return connection

    monkeypatch.setattr(app_module.sqlite3, "connect", recording_connect)
    return opened


def is_closed(connection):
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_each_request_closes_its_connection(client, connections):
    response = client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    assert response.status_code == 201
    user_id = response.json["id"]
    assert client.get("/users").status_code == 200
    assert client.get(f"/users/{user_id}/posts").status_code == 200
    assert client.get(f"/users/{user_id + 1}").status_code == 404
    assert client.post("/users", data="{bad", content_type="application/json").status_code == 400
    assert len(connections) == 4  # the bad body never needed the database
    assert all(is_closed(c) for c in connections)


def test_uncommitted_work_is_discarded_at_teardown(app, database, connections, count_rows):
    with app.app_context():
        db = app_module.get_db()
        db.execute("INSERT INTO users (username, email) VALUES ('ada', 'a@b.io')")
        # no commit: the teardown closes the connection, which discards the insert
    # No write lock is left behind: another writer gets in at once.
    other = sqlite3.connect(database, timeout=0)
    other.execute("INSERT INTO users (username, email) VALUES ('grace', 'g@b.io')")
    other.commit()
    other.close()
    assert count_rows() == {"users": 1, "posts": 0}


def test_foreign_keys_are_enforced(app):
    with app.app_context():
        db = app_module.get_db()
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO posts (user_id, title, body) VALUES (999, 'Orphan', '.')")


def test_a_post_for_a_user_deleted_meanwhile_is_404(client, database, count_rows, monkeypatch):
    user_id = client.post("/users", json={"username": "ada", "email": "a@b.io"}).json["id"]
    read_body = app_module.json_body

    def delete_the_user_first(fields):  # another request deletes ada mid-way
        with sqlite3.connect(database) as other:
            other.execute("DELETE FROM users WHERE id = ?", (user_id,))
        other.close()
        return read_body(fields)

    monkeypatch.setattr(app_module, "json_body", delete_the_user_first)
    response = client.post(f"/users/{user_id}/posts", json={"title": "Hi", "body": "Hello."})
    assert response.status_code == 404, response.json
    assert f"no user with id {user_id}" in response.json["message"]
    assert count_rows() == {"users": 0, "posts": 0}


def test_a_database_locked_past_the_timeout_is_a_503(app, client, database, monkeypatch):
    monkeypatch.setitem(app.config, "SQLITE_TIMEOUT", 0.1)
    other_writer = sqlite3.connect(database)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        response = client.post("/users", json={"username": "ada", "email": "a@b.io"})
    finally:
        other_writer.rollback()
        other_writer.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"] == "The database is busy. Try again shortly."


def test_a_writer_waits_out_a_lock_shorter_than_the_timeout(app, client, database, monkeypatch):
    monkeypatch.setitem(app.config, "SQLITE_TIMEOUT", 30)
    timeouts = []  # what each connection was given: SQLITE_TIMEOUT, not the driver's default
    real_connect = sqlite3.connect

    def recording_connect(*args, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return real_connect(*args, **kwargs)

    other_writer = sqlite3.connect(database, check_same_thread=False)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock, for half a second
    monkeypatch.setattr(app_module.sqlite3, "connect", recording_connect)
    release = threading.Timer(0.5, other_writer.rollback)
    release.start()
    try:
        response = client.post("/users", json={"username": "ada", "email": "a@b.io"})
    finally:
        release.join()
        other_writer.close()
    assert response.status_code == 201, response.json
    assert timeouts == [30]
