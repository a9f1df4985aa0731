"""The pitfall: a factory that rebuilds the tables at every start. Do not copy this one.

Run it like chapter 03's app, with chapter 03 on PYTHONPATH: ``flask --app naive_app run``.
"""

from __future__ import annotations

from flask import Flask

from blog import create_app as create_blog_app
from blog.db import Base, Session


def create_app() -> Flask:
    app = create_blog_app()
    # The mistake: "start from clean tables" on every start. Each start empties them.
    engine = Session.get_bind()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return app
