"""Foreign keys hold on both databases, and a user's posts and tokens go with them."""

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from blog.db import Session
from blog.models import Post
from blog.validation import json_body


def test_a_post_for_a_missing_user_is_refused(app, count_rows):
    with app.app_context():
        Session.add(Post(user_id=999, title="Orphan", body="No author."))
        with pytest.raises(IntegrityError):
            Session.commit()
    assert count_rows()["posts"] == 0


def test_the_database_deletes_posts_and_tokens_with_their_user(client, engine, ada, grace):
    # Plain SQL, no ORM: ON DELETE CASCADE alone must clean up.
    for account in (ada, grace):
        client.post("/api/posts", json={"title": "T", "body": "B"}, headers=account.headers)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        left = {
            table: connection.execute(text(f"SELECT user_id FROM {table}")).scalars().all()
            for table in ("posts", "tokens")
        }
    assert left == {"posts": [grace.id], "tokens": [grace.id]}


def test_deleting_a_user_does_not_load_their_posts(client, engine, ada):
    for n in range(3):
        client.post("/api/posts", json={"title": f"T{n}", "body": "B"}, headers=ada.headers)
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert client.delete(f"/api/users/{ada.id}", headers=ada.headers).status_code == 204
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert not [s for s in statements if "FROM posts" in s]
    assert [s for s in statements if s.startswith("DELETE FROM users")]


def test_a_post_from_an_account_deleted_mid_request_is_401(
    client, engine, ada, count_rows, monkeypatch
):
    # The token was valid when checked; the account goes before the post is written.
    def delete_ada_then_read_body(fields):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        return json_body(fields)

    monkeypatch.setattr("blog.posts.json_body", delete_ada_then_read_body)
    response = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert response.status_code == 401
    assert count_rows() == {"users": 0, "posts": 0, "tokens": 0}
