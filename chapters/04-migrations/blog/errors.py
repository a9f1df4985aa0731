"""Every error leaves as JSON: clear for client mistakes, silent about internals."""

from __future__ import annotations

import json

from flask import Flask, current_app
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.wrappers import Response


def handle_http_error(error: HTTPException) -> Response:
    """400, 404, 405, 413, ...: say what went wrong, in JSON, keeping status and headers."""
    response = error.get_response()  # keeps the status and headers such as Allow
    response.set_data(json.dumps({"error": error.name, "message": error.description or ""}))
    response.content_type = "application/json"
    return response


def handle_database_busy(error: OperationalError) -> Response:
    """SQLite still locked after its timeout: a 503 the client may retry."""
    if not getattr(error.orig, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
        return handle_unexpected_error(error)
    busy = ServiceUnavailable("The database is busy. Try again shortly.", retry_after=1)
    return handle_http_error(busy)


def handle_unexpected_error(error: Exception) -> Response:
    """A bug: log the traceback for us, show nothing internal to the client."""
    current_app.logger.exception("Unhandled exception", exc_info=error)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_busy)
    app.register_error_handler(Exception, handle_unexpected_error)
