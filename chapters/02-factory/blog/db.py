"""The database layer: the Flask-SQLAlchemy extension, bound in ``init_app``."""

from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Base class of every model; ``Base.metadata`` knows all the tables."""


# Created without an app, so any module can import it without importing
# the app. It only works inside an app context, once init_app has run.
db = SQLAlchemy(model_class=Base)


def init_app(app: Flask) -> None:
    """Bind the extension to the app. It closes the session after each request."""
    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        connect_args = {"timeout": app.config["SQLITE_TIMEOUT"]}
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": connect_args})
    db.init_app(app)
