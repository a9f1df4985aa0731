"""The database layer: plain SQLAlchemy, usable with or without Flask.

A script can do ``configure(url)`` and then use ``Session``; the Flask app
does the same through ``init_app(app)``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every model; ``Base.metadata`` knows all the tables."""


# One session registry per process. Each thread gets its own session;
# ``Session.remove()`` closes it and hands its connection back to the pool.
Session = scoped_session(sessionmaker())


def configure(url: str, sqlite_timeout: float = 5.0) -> Engine:
    """Create the engine for ``url`` and bind the session registry to it."""
    connect_args = {"timeout": sqlite_timeout} if url.startswith("sqlite") else {}
    # Errors and log lines show no values: they would hold e-mails and password hashes.
    engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", enable_foreign_keys)
    Session.remove()
    Session.configure(bind=engine)
    return engine


def enable_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite checks REFERENCES and runs ON DELETE CASCADE only on connections
    # that ask, every time one is opened. PostgreSQL always does.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def init_app(app: Flask) -> None:
    """Bind the registry to the app's database and close sessions per request."""
    engine = configure(app.config["DATABASE_URL"], app.config["SQLITE_TIMEOUT"])
    app.extensions["blog.engine"] = engine
    app.teardown_appcontext(close_session)


def close_session(exc: BaseException | None = None) -> None:
    # Runs after every request, error or not. An uncommitted transaction is
    # rolled back and the connection goes back to the pool.
    Session.remove()
