"""Every error leaves as JSON: clear for client mistakes, silent about internals."""

from __future__ import annotations

import json
import re

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import current_app
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
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
    still locked after its timeout, or a server that is down, restarting or
    out of connections.
    """
    if getattr(error.orig, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
        message = "The database is busy. Try again shortly."  # load, not a fault
    else:
        current_app.logger.exception("The database is unavailable", exc_info=error)
        message = "The database is unavailable. Try again shortly."
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
    app.register_error_handler(Exception, handle_unexpected_error)
