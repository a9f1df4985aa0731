"""The session is closed after every request, and db.py works without Flask."""

import pytest
from sqlalchemy import select

from blog import db
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

    monkeypatch.setattr(db.Session, "commit", failing_commit)
    response = client.post("/users", json={"username": "ada", "email": "a@b.io"})
    assert response.status_code == 500
    monkeypatch.undo()
    assert count_rows() == {"users": 0, "posts": 0}
    assert engine.pool.checkedout() == 0


def test_db_module_works_without_flask(tmp_path):
    """A script can use the same models and session registry with no app at all."""
    engine = db.configure(f"sqlite:///{tmp_path / 'script.sqlite'}")
    db.Base.metadata.create_all(engine)
    db.Session.add(User(username="script", email="script@example.com"))
    db.Session.commit()
    assert db.Session.scalars(select(User.username)).all() == ["script"]
    db.Session.remove()
    engine.dispose()


@pytest.mark.parametrize("committed", [True, False])
def test_session_remove_releases_the_connection(app, engine, committed):
    with app.app_context():
        db.Session.add(User(username="ada", email="a@b.io"))
        db.Session.flush()  # a write transaction is open now
        assert engine.pool.checkedout() == 1
        if committed:
            db.Session.commit()
    # Leaving the app context ran teardown, which called Session.remove().
    assert engine.pool.checkedout() == 0
