"""The pitfall as it first happened: a factory that seeds, and a transaction nobody ends.

Do not copy this one. Run it with ``flask --app locking_app run --debug``
(with chapter 03 on PYTHONPATH, so ``blog`` is its package).
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import func, select

from blog import create_app as create_blog_app
from blog.cli import SEED_USERS
from blog.db import Base, Session
from blog.models import User


def create_app() -> Flask:
    app = create_blog_app()
    print(f"create_app() in pid {os.getpid()}, WERKZEUG_RUN_MAIN={os.getenv('WERKZEUG_RUN_MAIN')}")

    # The mistake: start-up code that writes, through a session nobody ends.
    Base.metadata.create_all(Session.get_bind())
    for username, (email, _) in SEED_USERS.items():
        Session.add(User(username=username, email=email))
    # The count flushes the pending INSERTs first (autoflush): from here on
    # this process holds SQLite's write lock. No commit, no rollback, no close.
    count = Session.scalar(select(func.count()).select_from(User))
    print(f"pid {os.getpid()} sees {count} users, in a transaction it never ends")
    return app
