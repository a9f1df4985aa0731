"""Checks for what a request sends: ids in URLs and JSON bodies. Every failure is a 4xx."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Request, abort, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: like ``<int:...>``, but one spelling per id.

    ``int`` also takes other scripts' digits ("١", "１") and leading zeros
    ("01"), so one user would have many URLs, and a proxy rule or cache key
    written for /users/1 would miss some. Ids start at 1.
    """

    regex = r"[1-9][0-9]*"


def normalize_email(value: str) -> str:
    # Syntax only: a DNS lookup per request would make registration slow and
    # flaky. Proving an address works takes a confirmation mail.
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        abort(400, f"'email' is not valid: {error}")


def nfkc(value: str) -> str:
    # "é" typed as one code point or as "e" plus an accent is one password to
    # its owner: compare their normal form (NFKC, as NIST SP 800-63B advises).
    return unicodedata.normalize("NFKC", value)


class JSONRequest(Request):
    """A request whose body, when APIFlask reads it, is checked by ``json_body`` first.

    APIFlask reads a body with ``get_json(force=True)``, whatever its
    Content-Type, and lets a parse error through as Werkzeug's bare 400.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        return json_body(lambda: Request.get_json(self, force, silent, cache))


def json_body(parse: Callable[[], Any]) -> dict[str, Any]:
    """Return the request's JSON object, as ``parse`` reads it, or abort."""
    if not request.is_json:
        abort(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        body = request.get_data()
        # Without a Content-Length (a chunked body), Werkzeug stops reading at
        # the limit instead of refusing: a body that fills it was cut short.
        if request.content_length is None and len(body) >= current_app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()
        data = parse()
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        abort(413, f"The request body is larger than the limit of {limit:,} bytes.")
    except (BadRequest, RecursionError):
        abort(400, "The request body is not valid JSON.")
    except Exception:
        # The server decodes a chunked body while we read it, and raises an error
        # of its own for a malformed one (gunicorn's is neither OSError nor HTTP).
        abort(400, "The request body could not be read.")
    if not isinstance(data, dict):
        abort(400, "The request body must be a JSON object.")
    return data
