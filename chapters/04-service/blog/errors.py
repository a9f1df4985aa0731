"""Every error leaves as JSON: clear for client mistakes, silent about internals."""

from __future__ import annotations

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, InternalServerError


def handle_http_error(error: HTTPException) -> tuple[dict[str, str], int]:
    """400, 404, 405, 413, ...: say what went wrong, in JSON."""
    return {"error": error.name, "message": error.description or ""}, error.code or 500


def handle_unexpected_error(error: Exception) -> tuple[dict[str, str], int]:
    """A bug: log the traceback for us, show nothing internal to the client."""
    current_app.logger.exception("Unhandled exception", exc_info=error)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
