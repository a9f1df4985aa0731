"""The database layer: the Flask-SQLAlchemy extension, bound in ``init_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Base class of every model; ``Base.metadata`` knows all the tables."""


# Created without an app, so any module can import it without importing
# the app. It only works inside an app context, once init_app has run.
db = SQLAlchemy(model_class=Base)


def init_app(app: Flask) -> None:
    """Bind the extension to the app. It closes the session after each request."""
    url = app.config["DATABASE_URL"]
    sqlite = url.startswith("sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # Error messages and logs show the SQL, never the values: those are
    # usernames, e-mails and post bodies.
    options.setdefault("hide_parameters", True)
    if sqlite:
        options.setdefault("connect_args", {"timeout": app.config["SQLITE_TIMEOUT"]})
    db.init_app(app)
    if sqlite:
        with app.app_context():
            event.listen(db.engine, "connect", enforce_foreign_keys)


def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite checks foreign keys only when asked, and the setting lives on the
    # connection, not in the file: so it is set on every new connection.
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
