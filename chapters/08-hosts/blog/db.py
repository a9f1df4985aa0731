"""The database layer: plain SQLAlchemy, usable without a Flask app.

A script can do ``configure(url)`` and then use ``Session``; the Flask app
does the same through ``init_app(app)``. Either way a process serves one
database: the one ``Session`` was configured with last.
"""

from __future__ import annotations

import os
from contextlib import suppress
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker


class Base(DeclarativeBase):
    """Base class of every model; ``Base.metadata`` knows all the tables."""


# One session registry per process, and the only way to the database: routes,
# commands, tests and scripts all go through it. Each thread gets its own
# session; ``Session.remove()`` closes it and hands its connection back.
Session = scoped_session(sessionmaker())


def configure(url: str, sqlite_timeout: float = 5.0, **pool: Any) -> Engine:
    """Create the engine for ``url`` and bind the session registry to it.

    ``pool``: pool_size, max_overflow and pool_timeout for a database server.
    SQLite keeps SQLAlchemy's own pool: its connections are files, not a
    server's processes, and nothing counts them.
    """
    sqlite = url.startswith("sqlite")
    engine = create_engine(
        url,
        connect_args={"timeout": sqlite_timeout} if sqlite else {},
        **({} if sqlite else pool),
        # A server restart, or a firewall that drops idle connections, leaves
        # dead ones in the pool: test each as it is checked out (one round
        # trip) and replace a dead one.
        pool_pre_ping=True,
        # Error messages and logs show the SQL, never the values: those are
        # usernames, e-mails, post bodies and password hashes.
        hide_parameters=True,
    )
    if sqlite:
        event.listen(engine, "connect", enforce_foreign_keys)
        if engine.url.database not in (None, "", ":memory:"):
            event.listen(engine, "do_connect", partial(create_private, engine.url.database))
    previous = Session.session_factory.kw.get("bind")
    Session.remove()
    if previous is not None:
        previous.dispose()  # one database per process: close the old one's pool
    Session.configure(bind=engine)
    return engine


def create_private(path: str, *args: Any) -> None:
    # Before SQLite opens the file: it would create it readable by everyone
    # (umask 022), and its -wal and -shm files with the file's permissions.
    with suppress(OSError):  # it exists, or its folder doesn't: SQLite says so
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite checks foreign keys only when asked, and the setting lives on the
    # connection, not in the file: so it is set on every new connection.
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def init_app(app: Flask) -> None:
    """Bind the registry to the app's database and close sessions per request."""
    configure(
        app.config["DATABASE_URL"],
        app.config["SQLITE_TIMEOUT"],
        pool_size=app.config["POOL_SIZE"],
        max_overflow=app.config["POOL_MAX_OVERFLOW"],
        pool_timeout=app.config["POOL_TIMEOUT"],
    )
    app.teardown_appcontext(close_session)


def close_session(exc: BaseException | None = None) -> None:
    # Runs after every request, error or not. An uncommitted transaction is
    # rolled back and the connection goes back to the pool.
    Session.remove()
