"""Every error leaves as JSON: clear for client mistakes, silent about internals."""

from __future__ import annotations

import json

from flask import Flask, current_app
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response


def handle_http_error(error: HTTPException) -> Response:
    """400, 404, 405, 413, ...: say what went wrong, in JSON, keeping status and headers."""
    response = error.get_response()  # keeps the status and headers such as Allow
    response.set_data(json.dumps({"error": error.name, "message": error.description or ""}))
    response.content_type = "application/json"
    return response


def handle_unexpected_error(error: Exception) -> Response:
    """A bug: log the traceback for us, show nothing internal to the client."""
    current_app.logger.exception("Unhandled exception", exc_info=error)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
