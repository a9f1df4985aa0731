"""The session is closed after every request; db only works inside an app context."""

import pytest
from sqlalchemy import select

from blog.db import db
from blog.models import User


def test_no_connection_is_left_checked_out(client, engine):
    client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    client.get("/users")
    client.get("/users/1/posts")
    client.post("/users", data="{bad", content_type="application/json")
    client.get("/users/12345")
    assert engine.pool.checkedout() == 0


def test_a_failed_request_rolls_back(app, client, engine, count_rows, monkeypatch):
    # Make the commit fail after the user was added to the session.
    def failing_commit():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post("/users", json={"username": "ada", "email": "a@b.io"})
    assert response.status_code == 500
    monkeypatch.undo()
    assert count_rows() == {"users": 0, "posts": 0}
    assert engine.pool.checkedout() == 0


def test_db_needs_an_app_context(app):
    """The extension is tied to Flask: a script must build an app first."""
    with pytest.raises(RuntimeError, match="application context"):
        db.session.scalars(select(User)).all()
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []


@pytest.mark.parametrize("committed", [True, False])
def test_session_is_removed_at_teardown(app, engine, committed):
    with app.app_context():
        db.session.add(User(username="ada", email="a@b.io"))
        db.session.flush()  # a write transaction is open now
        assert engine.pool.checkedout() == 1
        if committed:
            db.session.commit()
    # Leaving the app context ran Flask-SQLAlchemy's teardown: session removed.
    assert engine.pool.checkedout() == 0
