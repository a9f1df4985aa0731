"""Logins and registrations, limited per client address and per account name.

Each attempt hashes a password on purpose slowly (scrypt), so an unlimited
stream of them is both a way to guess passwords and a way to load the server.
The counters live in RATELIMIT_STORAGE_URI: Redis in production, so that every
gunicorn worker counts against the same limit (``memory://`` counts per process).
"""

from __future__ import annotations

import math
import time

from apiflask import APIFlask
from flask import current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from blog.errors import handle_http_error

limiter = Limiter(key_func=get_remote_address)


def account_name() -> str:
    """The username (or, for a reset, the e-mail) an attempt is for, in any case:
    one account, one counter."""
    try:
        body = request.get_json()
    except HTTPException:  # no JSON: the view refuses it, after this limit counted it
        body = None
    name = body.get("username", body.get("email")) if isinstance(body, dict) else None
    return f"account:{name.casefold()}" if isinstance(name, str) else "account:"


def per_client() -> str:
    return current_app.config["RATELIMIT_PER_CLIENT"]


def per_account() -> str:
    return current_app.config["RATELIMIT_PER_ACCOUNT"]


TOO_MANY = "Too many attempts. Try again after the number of seconds in Retry-After."


def attempts(view):
    """Both limits on a view: one address cannot try many accounts, nor many
    addresses one account."""
    view = limiter.limit(per_account, key_func=account_name, error_message=TOO_MANY)(view)
    return limiter.limit(per_client, error_message=TOO_MANY)(view)


def client_attempts(view):
    """The limit per client address alone: for a view whose body names no account."""
    return limiter.limit(per_client, error_message=TOO_MANY)(view)


def too_many_attempts(error: RateLimitExceeded) -> Response:
    """The 429 in JSON, with the seconds until the exceeded limit's window ends.

    Set here rather than by Flask-Limiter's RATELIMIT_HEADERS_ENABLED, which
    writes Retry-After on every answer of a limited view, a 503's too.
    """
    response = handle_http_error(error)
    breached = limiter.current_limit
    wait = breached.window.reset_time - time.time() if breached else 60
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def init_app(app: APIFlask) -> None:
    # One Limiter per process: it keeps the key prefix and RATELIMIT_SWALLOW_ERRORS
    # of the first app it is given. gunicorn runs one app per worker, as it expects.
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
