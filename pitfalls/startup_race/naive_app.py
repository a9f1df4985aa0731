"""The pitfall: a factory that creates the tables. Do not copy this one."""

from __future__ import annotations

from flask import Flask

from blog import create_app as create_blog_app
from blog.db import Base, Session


def create_app() -> Flask:
    app = create_blog_app()
    # The mistake: every process that builds the app runs CREATE TABLE.
    Base.metadata.create_all(Session.get_bind())
    return app
