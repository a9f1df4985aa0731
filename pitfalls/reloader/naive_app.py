"""The pitfall: a factory that seeds the database. Do not copy this one.

Run it the way the chapters run their apps: ``flask --app naive_app run --debug``
(with chapter 03 on PYTHONPATH, so ``blog`` is its package).
"""

from __future__ import annotations

import os

from flask import Flask

from blog import create_app as create_blog_app
from blog.cli import SEED_USERS
from blog.db import Base, Session
from blog.models import Post, User


def create_app() -> Flask:
    app = create_blog_app()
    print(f"create_app() in pid {os.getpid()}, WERKZEUG_RUN_MAIN={os.getenv('WERKZEUG_RUN_MAIN')}")

    # The mistake: start-up code that writes. It runs in every process that builds the app.
    Base.metadata.create_all(Session.get_bind())
    for username, (email, title) in SEED_USERS.items():
        user = User(username=username, email=email)
        user.posts.append(Post(title=title, body=f"A first post by {username}."))
        Session.add(user)
    Session.commit()
    return app
