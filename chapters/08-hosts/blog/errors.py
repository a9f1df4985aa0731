"""Every error leaves as JSON: clear for client mistakes, silent about internals."""

from __future__ import annotations

import json
import re

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import current_app, g
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from blog.schemas import describe


def handle_http_error(error: HTTPException) -> Response:
    """400, 404, 405, 413, ...: say what went wrong, in JSON, keeping status and headers."""
    response = error.get_response()  # keeps the status and headers such as Allow
    response.set_data(json.dumps({"error": error.name, "message": error.description or ""}))
    response.content_type = "application/json"
    return response


def handle_contract_error(error: HTTPError) -> tuple[dict[str, str], int, dict[str, str]]:
    """What APIFlask raises itself: a body or query that breaks the contract (400)."""
    message = error.message
    if isinstance(error.__cause__, ValidationError):  # the check that failed, in words
        message = describe(error.__cause__)
    return (
        {"error": HTTP_STATUS_CODES[error.status_code], "message": message},
        error.status_code,
        error.headers,
    )


def handle_database_unavailable(error: OperationalError) -> Response:
    """The database could not do the work now: a 503 the client may retry.

    An OperationalError is the database's trouble, not the request's: SQLite
    still locked after its timeout, a server that is down, restarting or out of
    connections, a connection lost mid-request. Those that are expected in
    production say why in the request's log line; any other is logged whole.
    """
    if getattr(error.orig, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
        message = "The database is busy. Try again shortly."  # load, not a fault
        g.unavailable = "busy"
    else:
        message = "The database is unavailable. Try again shortly."
        if no_connection(error):
            g.unavailable = str(error.orig).partition("\n")[0]  # the driver's words
        else:
            current_app.logger.exception("The database is unavailable", exc_info=error)
    return handle_http_error(ServiceUnavailable(message, retry_after=1))


def no_connection(error: DBAPIError) -> bool:
    """Whether the server refused or lost the connection: an outage, not a bug.

    psycopg gives no SQLSTATE when it could not connect at all (nothing listens,
    "too many clients" at start-up); SQLAlchemy flags a connection it saw die.
    """
    if getattr(error.orig, "sqlite_errorname", "") == "SQLITE_CANTOPEN":
        return True  # SQLite's equivalent: the file can't be opened
    sqlstate = getattr(error.orig, "sqlstate", "")
    return error.connection_invalidated or sqlstate is None or sqlstate in SERVER_UNAVAILABLE


# The server cannot take work now: too many connections, shutting down or
# stopped by an admin or a crash, still starting up. Class 08: connection errors.
SERVER_UNAVAILABLE = {"53300", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"}


def handle_pool_timeout(error: PoolTimeout) -> Response:
    """Every connection of this process is in use for POOL_TIMEOUT seconds: a 503 too."""
    g.unavailable = "no free connection in the pool"
    message = "The server is busy. Try again shortly."
    return handle_http_error(ServiceUnavailable(message, retry_after=1))


def handle_unexpected_error(error: Exception) -> Response:
    """A bug: log the traceback for us, show nothing internal to the client."""
    current_app.logger.exception("Unhandled exception", exc_info=error)
    return handle_http_error(InternalServerError())


def broke(error: IntegrityError, kind: str, constraint: str) -> bool:
    """Whether a write failed on ``constraint``, a "foreign key" or "unique" one.

    A view turns only the failure it expects into an answer; any other
    integrity error is a bug or a damaged database, and stays a logged 500.
    """
    orig = error.orig
    if hasattr(orig, "sqlstate"):  # PostgreSQL (psycopg) names the constraint
        codes = {"foreign key": "23503", "unique": "23505"}
        return orig.sqlstate == codes[kind] and orig.diag.constraint_name == constraint
    # SQLite: "UNIQUE constraint failed: index 'uq_users_username_lower'" names an
    # index; "FOREIGN KEY constraint failed" names nothing, so the caller's table
    # must have that one foreign key.
    name = getattr(orig, "sqlite_errorname", "")
    if kind == "foreign key":
        return name == "SQLITE_CONSTRAINT_FOREIGNKEY"
    return name == "SQLITE_CONSTRAINT_UNIQUE" and bool(
        re.search(rf"\bindex '{re.escape(constraint)}'$", str(orig))
    )


def init_app(app: APIFlask) -> None:
    app.error_processor(handle_contract_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(PoolTimeout, handle_pool_timeout)
    app.register_error_handler(Exception, handle_unexpected_error)
