"""Demonstration: what a client sees when it sends chapter 03 a bad request.

Each request prints its status and the JSON body of the answer; the last line
counts the rows, to show that none of the failures wrote anything.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from blog import create_app
from blog.db import Base, Session
from blog.models import Post, User
from pitfalls.support import main, scratch

# (method, path, raw body) — raw, so that broken JSON can be sent as it is.
REQUESTS = [
    ("POST", "/users", '{"username": "ada", "email": "ada@example.com"}'),
    ("POST", "/users", '{"username": "ada", "email": '),
    ("POST", "/users", '["ada", "ada@example.com"]'),
    ("POST", "/users", '{"username": "grace"}'),
    ("POST", "/users", '{"username": "grace", "email": "g@example.com", "admin": true}'),
    ("POST", "/users", '{"username": 42, "email": "g@example.com"}'),
    ("POST", "/users", '{"username": "grace", "email": "not-an-email"}'),
    ("POST", "/users", '{"username": "ada", "email": "other@example.com"}'),
    ("POST", "/users", json.dumps({"username": "x", "email": "y" * 140_000})),
    ("GET", "/users/999", None),
    ("POST", "/users/999/posts", '{"title": "Hi", "body": "there"}'),
    ("DELETE", "/users", None),
]


def responses() -> None:
    with scratch() as tmp:
        url = f"sqlite:///{tmp / 'blog.sqlite'}"
        app = create_app({"SECRET_KEY": "demo", "DATABASE_URL": url})
        engine = Session.get_bind()  # the engine init_app bound the registry to
        Base.metadata.create_all(engine)
        client = app.test_client()
        for method, path, body in REQUESTS:
            response = client.open(path, method=method, data=body, content_type="application/json")
            shown = body if body is None or len(body) < 70 else f"<{len(body):,} bytes>"
            print(f"{method} {path} {shown or ''}".rstrip())
            print(f"  -> {response.status_code} {json.dumps(response.get_json())}")
        with app.app_context():
            users = Session.scalar(select(func.count()).select_from(User))
            posts = Session.scalar(select(func.count()).select_from(Post))
        print(f"rows: {users} user(s), {posts} post(s)")
        engine.dispose()


if __name__ == "__main__":
    main(responses=responses)
