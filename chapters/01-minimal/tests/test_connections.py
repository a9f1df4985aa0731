"""Every request closes its connection, and a failed request commits nothing."""

import sqlite3

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
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    client.get("/users")
    client.get("/users/1/posts")
    client.get("/users/999")
    client.post("/users", data="{bad", content_type="application/json")
    assert len(connections) == 4  # the bad body never needed the database
    assert all(is_closed(c) for c in connections)


def test_uncommitted_work_is_rolled_back_at_teardown(app, count_rows):
    with app.app_context():
        db = app_module.get_db()
        db.execute("INSERT INTO users (username, email) VALUES ('ada', 'a@b.io')")
        # no commit: the teardown rolls back and closes
    assert count_rows() == {"users": 0, "posts": 0}
