"""Accounts and tokens: log in for a bearer token, send it with every write, log out."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from flask import Blueprint, Flask, abort, current_app, g, request
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.security import check_password_hash, generate_password_hash

from blog.db import Session
from blog.errors import broke
from blog.models import Token, User
from blog.validation import LOGIN_FIELDS, PASSWORD_CHANGE_FIELDS, json_body

bp = Blueprint("auth", __name__)


# secrets.token_urlsafe(32): 32 random bytes as 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")

# The longest a token may work: a leaked one must stop working some day, and a
# lifetime of millennia would be an expiry date no datetime can hold.
MAX_TOKEN_LIFETIME = 365 * 24 * 60 * 60

# OWASP's Password Storage Cheat Sheet asks for scrypt with N=2^17, r=8, p=1 at
# least (Werkzeug's default is N=2^15). Each hash takes 128 MiB (128 * N * r bytes)
# for its time. A stored hash made otherwise is replaced at its user's next login.
PASSWORD_HASH_METHOD = "scrypt:131072:8:1"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def init_app(app: Flask) -> None:
    """Check the token settings when the app is built, not at the first login."""
    lifetime = app.config["TOKEN_LIFETIME"]
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, int)
        or not 0 < lifetime <= MAX_TOKEN_LIFETIME
    ):
        raise ValueError(
            "TOKEN_LIFETIME must be a whole number of seconds, "
            f"from 1 to {MAX_TOKEN_LIFETIME:,} (a year), not {lifetime!r}."
        )


def utcnow() -> datetime:
    """The time in UTC, without a zone: how the tokens table stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, in hex.

    A fast hash is enough. A password needs a slow one because people choose
    guessable passwords; a token is 256 random bits, so a stolen table leaves
    nothing to guess from.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def unauthorized(message: str, error: str | None = None) -> NoReturn:
    """401 with the challenge RFC 6750 asks for: how to authenticate, and what failed."""
    challenge = WWWAuthenticate("bearer", {"realm": "blog"})
    if error:
        challenge["error"] = error
    abort(401, message, www_authenticate=challenge)


def authenticate() -> tuple[User, Token]:
    """The user and token of the request's ``Authorization: Bearer`` header, or 401."""
    auth = request.authorization
    if auth is None or auth.type != "bearer":
        unauthorized("Send 'Authorization: Bearer <token>'. POST /api/auth/login gives a token.")
    if not auth.token or not TOKEN_SHAPE.fullmatch(auth.token):
        unauthorized("The token is malformed.", "invalid_token")
    # Looked up by digest: the database compares hashes of what the client sent,
    # so how long a comparison takes tells nothing about any real token.
    found = Session.execute(
        select(User, Token).join(Token.user).where(Token.digest == token_digest(auth.token))
    ).first()
    if found is None:
        unauthorized("The token is not valid (unknown, or logged out).", "invalid_token")
    user, token = found
    if token.expires_at <= utcnow():
        unauthorized("The token has expired. Log in again.", "invalid_token")
    return user, token


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``view`` only for a valid token; ``g.user`` is its user."""

    @functools.wraps(view)
    def wrapped_view(**kwargs: Any) -> Any:
        g.user, g.token = authenticate()
        return view(**kwargs)

    return wrapped_view


@bp.post("/auth/login")
def login() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = json_body(LOGIN_FIELDS)
    user = Session.scalar(select(User).where(func.lower(User.username) == data["username"].lower()))
    if user is None or user.password_hash is None:
        # Hashing the password given is the same scrypt work as checking it: a
        # wrong name costs the time of a wrong password, and gives nothing away.
        hash_password(data["password"])
        unauthorized("Wrong username or password.")
    if not check_password_hash(user.password_hash, data["password"]):
        unauthorized("Wrong username or password.")
    rehash_if_outdated(user, data["password"])

    token = secrets.token_urlsafe(TOKEN_BYTES)
    lifetime = current_app.config["TOKEN_LIFETIME"]
    now = utcnow()
    Session.add(
        Token(
            user=user,
            digest=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    try:
        Session.commit()
    except IntegrityError as error:
        Session.rollback()
        # The user's foreign key (the only one of tokens): the account was
        # deleted since the password was checked. Any other failure is a 500.
        if not broke(error, "foreign key", "tokens_user_id_fkey"):
            raise
        unauthorized("Wrong username or password.")
    # The only time the token is ever shown: the server cannot show it again.
    # no-store: no cache between here and the client may keep a copy.
    answer = {"token": token, "token_type": "Bearer", "expires_in": lifetime}
    return answer, 200, {"Cache-Control": "no-store"}


@bp.post("/auth/logout")
@login_required
def logout() -> tuple[str, int]:
    # The row goes, so the token is unknown from now on, on every worker. A
    # DELETE statement: when a second logout of this token deleted it first,
    # the token is gone all the same, where Session.delete() would warn.
    Session.execute(delete(Token).where(Token.id == g.token.id))
    Session.commit()
    return "", 204


@bp.post("/auth/logout-everywhere")
@login_required
def logout_everywhere() -> tuple[str, int]:
    # Every login of the account ends, this one included: for a lost phone, or
    # a token that may have leaked from somewhere the user can't name.
    Session.execute(delete(Token).where(Token.user_id == g.user.id))
    Session.commit()
    return "", 204


@bp.post("/auth/password")
@login_required
def change_password() -> tuple[str, int]:
    data = json_body(PASSWORD_CHANGE_FIELDS)
    confirm_password(g.user, data["current_password"])
    # A statement, not an attribute: no row means the account was deleted since
    # its token was checked, and the client gets the 401 its token now deserves.
    changed = Session.execute(
        update(User)
        .where(User.id == g.user.id)
        .values(password_hash=hash_password(data["new_password"]))
    ).rowcount
    if changed == 0:
        Session.rollback()
        unauthorized("The account no longer exists.", "invalid_token")
    # Whoever else held a token (a thief, perhaps: the reason to change) is out.
    # The token of this request stays valid: the client that changed it keeps working.
    Session.execute(delete(Token).where(Token.user_id == g.user.id, Token.id != g.token.id))
    Session.commit()
    return "", 204


def confirm_password(user: User, password: str) -> None:
    """403 unless ``password`` is ``user``'s: a token alone must not take over the account."""
    if user.password_hash is None or not check_password_hash(user.password_hash, password):
        abort(403, "The password is wrong.")


def rehash_if_outdated(user: User, password: str) -> None:
    """Replace ``user``'s hash if it was made with other parameters; the caller commits.

    Only a login knows the password, so only a login can hash it again. The
    UPDATE names the old hash: a password changed meanwhile is not overwritten.
    """
    old = user.password_hash
    if old is not None and old.split("$", 1)[0] != PASSWORD_HASH_METHOD:
        Session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == old)
            .values(password_hash=hash_password(password))
        )


@bp.get("/auth/me")
@login_required
def me() -> dict[str, Any]:
    return g.user.to_account_dict()
