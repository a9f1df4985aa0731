"""Checks for JSON request bodies. Every failure becomes a 4xx with a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge


@dataclass(frozen=True)
class TextField:
    """A required string field: trimmed, non-empty, bounded, optionally patterned."""

    max_length: int
    pattern: re.Pattern[str] | None = None
    hint: str = ""


USER_FIELDS = {
    "username": TextField(80, re.compile(r"[A-Za-z0-9_.-]+"), "letters, digits, _ . -"),
    "email": TextField(254, re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "like ada@example.com"),
}
POST_FIELDS = {
    "title": TextField(200),
    "body": TextField(10_000),
}


def json_body(fields: dict[str, TextField]) -> dict[str, str]:
    """Return the request's JSON object, checked against ``fields``, or abort."""
    if not request.is_json:
        abort(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        body = request.get_data()
        # Without a Content-Length (a chunked body), Werkzeug stops reading at
        # the limit instead of refusing: a body that fills it was cut short.
        if request.content_length is None and len(body) >= current_app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()
        data = request.get_json()
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

    missing = sorted(fields.keys() - data.keys())
    unknown = sorted(data.keys() - fields.keys())
    if missing:
        abort(400, f"Missing field(s): {', '.join(missing)}.")
    if unknown:
        abort(400, f"Unknown field(s): {', '.join(unknown)}.")
    return {name: check_text(name, data[name], rule) for name, rule in fields.items()}


def check_text(name: str, value: Any, rule: TextField) -> str:
    if not isinstance(value, str):
        abort(400, f"'{name}' must be a string.")
    # Measured as sent, so the longest valid body has a known size (see config.py).
    if len(value) > rule.max_length:
        abort(400, f"'{name}' must be at most {rule.max_length} characters.")
    value = value.strip()
    if not value:
        abort(400, f"'{name}' must not be empty.")
    if "\x00" in value:  # PostgreSQL cannot store NUL in text
        abort(400, f"'{name}' must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        abort(400, f"'{name}' is not valid Unicode text.")
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        abort(400, f"'{name}' is not valid ({rule.hint}).")
    return value
