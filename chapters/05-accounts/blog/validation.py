"""Checks for what a request sends: ids in URLs and JSON bodies. Every failure is a 4xx."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import abort, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: like ``<int:...>``, but one spelling per id.

    ``int`` also takes other scripts' digits ("١", "１") and leading zeros
    ("01"), so one user would have many URLs, and a proxy rule or cache key
    written for /users/1 would miss some. Ids start at 1.
    """

    regex = r"[1-9][0-9]*"


@dataclass(frozen=True)
class TextField:
    """A string field: trimmed (unless secret), non-empty, bounded, optionally patterned."""

    max_length: int
    pattern: re.Pattern[str] | None = None
    hint: str = ""
    min_length: int = 1
    # True: line breaks and tabs allowed, and format characters such as the
    # zero-width joiner inside emoji (a post's body). False: one line of text.
    multiline: bool = False
    # True: taken exactly as typed, spaces included (a password is only hashed).
    secret: bool = False
    # Checks and rewrites the value, e.g. an e-mail address to its normal form.
    normalize: Callable[[str], str] | None = None


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


USER_FIELDS = {
    "username": TextField(80, re.compile(r"[A-Za-z0-9_.-]+"), "letters, digits, _ . -"),
    "email": TextField(254, normalize=normalize_email),
    # Long passphrases over complex rules: 15 characters at least, any characters.
    "password": TextField(128, min_length=15, secret=True, normalize=nfkc),
}
LOGIN_FIELDS = {
    "username": TextField(80),
    # Only the shape is checked: the rules may have changed since the account was made.
    "password": TextField(128, secret=True, normalize=nfkc),
}
# Proof that the token's holder is the account's owner, for what a token alone
# must not do: change the password, delete the account.
PASSWORD_FIELDS = {"password": LOGIN_FIELDS["password"]}
PASSWORD_CHANGE_FIELDS = {
    "current_password": LOGIN_FIELDS["password"],
    "new_password": USER_FIELDS["password"],
}
POST_FIELDS = {
    "title": TextField(200),
    "body": TextField(10_000, multiline=True),
}


def json_body(fields: dict[str, TextField], partial: bool = False) -> dict[str, str]:
    """Return the request's JSON object, checked against ``fields``, or abort.

    ``partial=True`` (an edit) accepts any non-empty subset of the fields.
    """
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
    if missing and not partial:
        abort(400, f"Missing field(s): {', '.join(missing)}.")
    if unknown:
        abort(400, f"Unknown field(s): {', '.join(unknown)}.")
    if not data:
        abort(400, f"Send at least one of: {', '.join(fields)}.")
    return {
        name: check_text(name, data[name], rule) for name, rule in fields.items() if name in data
    }


def check_text(name: str, value: Any, rule: TextField) -> str:
    if not isinstance(value, str):
        abort(400, f"'{name}' must be a string.")
    # Measured as sent, so the longest valid body has a known size (see config.py).
    if len(value) > rule.max_length:
        abort(400, f"'{name}' must be at most {rule.max_length} characters.")
    if not rule.secret:
        value = value.strip()
    if not value:
        abort(400, f"'{name}' must not be empty.")
    if len(value) < rule.min_length:
        abort(400, f"'{name}' must be at least {rule.min_length} characters.")
    if "\x00" in value:  # PostgreSQL cannot store NUL in text
        abort(400, f"'{name}' must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        abort(400, f"'{name}' is not valid Unicode text.")
    if not rule.secret and hidden_characters(value, rule.multiline):
        abort(400, f"'{name}' must not contain control or invisible formatting characters.")
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        abort(400, f"'{name}' is not valid ({rule.hint}).")
    if rule.normalize is not None:
        value = rule.normalize(value)
    return value


def hidden_characters(value: str, multiline: bool) -> bool:
    """True if ``value`` holds characters that change how text shows, not what it says.

    Control characters (Unicode category Cc, e.g. ESC) and format characters
    (Cf: the right-to-left override, the zero-width space) let one name pass for
    another. A multi-line text keeps line breaks, tabs and format characters,
    which emoji and some scripts need.
    """
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and not (multiline and char in "\n\r\t"):
            return True
        if category == "Cf" and not multiline:
            return True
    return False
