"""The session is closed after every request, and db.py works without Flask."""

import pytest
from sqlalchemy import select

from blog import db
from blog.models import User


def test_no_connection_is_left_checked_out(client, ada, engine):
    client.get("/api/users")
    client.get(f"/api/users/{ada.id}/posts")
    client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    client.post("/api/users", data="{bad", content_type="application/json")
    client.get("/api/users/12345")
    client.post("/api/auth/logout", headers=ada.headers)
    assert engine.pool.checkedout() == 0


def test_a_failed_request_rolls_back(app, client, engine, count_rows, monkeypatch):
    # Make the commit fail after the user was added to the session.
    def failing_commit():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db.Session, "commit", failing_commit)
    body = {"username": "ada", "email": "a@b.io", "password": "correct horse battery"}
    response = client.post("/api/users", json=body)
    assert response.status_code == 500
    monkeypatch.undo()
    assert count_rows() == {"users": 0, "posts": 0, "tokens": 0}
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
