"""Headers every answer carries: what a browser may do with it, and who may read it."""

from __future__ import annotations

from apiflask import APIFlask
from flask_cors import CORS
from werkzeug.wrappers import Response

# The answers are JSON, never a page: a browser must not guess another type,
# run anything from them, or show them in a frame.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def init_app(app: APIFlask) -> None:
    app.after_request(add_security_headers)
    if origins := app.config["CORS_ORIGINS"]:
        # A browser lets a page from one of these origins read the answers,
        # after a preflight for writes; pages from anywhere else get nothing.
        # Location (where a new post is) is one of the headers its script may read.
        CORS(app, resources={r"/api/*": {"origins": origins}}, expose_headers=["Location"])
