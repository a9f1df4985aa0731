"""Users: anyone may list them and read one; a person registers and deletes themselves."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, url_for
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from blog.auth import confirm_password, hash_password, login_required
from blog.db import Session
from blog.errors import broke
from blog.models import MAX_ID, User
from blog.validation import PASSWORD_FIELDS, USER_FIELDS, json_body

bp = Blueprint("users", __name__)


@bp.get("/users")
def list_users() -> list[dict[str, Any]]:
    # The public columns only: the e-mail address is private.
    rows = Session.execute(select(User.id, User.username).order_by(User.id))
    return [dict(row) for row in rows.mappings()]


@bp.post("/users")
def create_user() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = json_body(USER_FIELDS)
    taken = f"The username {data['username']!r} is taken."
    if Session.scalar(select(User.id).where(func.lower(User.username) == data["username"].lower())):
        abort(409, taken)
    # scrypt: slow on purpose, so a stolen table is slow to guess from.
    password_hash = hash_password(data.pop("password"))
    user = User(**data, password_hash=password_hash)
    Session.add(user)
    try:
        Session.flush()  # the INSERT: the user has its id now
        # Read before the commit, which expires it: reloaded after, an account
        # its owner deleted meanwhile would be a 500 for a write that succeeded.
        account = user.to_account_dict()
        Session.commit()
    except IntegrityError as error:
        Session.rollback()
        # Another request took the name since our check. Any other failure is a 500.
        if not broke(error, "unique", "uq_users_username_lower"):
            raise
        abort(409, taken)
    # Location names the new resource; without it a 201 means the request's URL (RFC 9110).
    return account, 201, {"Location": url_for("users.get_user", user_id=account["id"])}


@bp.get("/users/<id:user_id>")
def get_user(user_id: int) -> dict[str, Any]:
    return get_user_or_404(user_id).to_dict()


@bp.delete("/users/<id:user_id>")
@login_required
def delete_user(user_id: int) -> tuple[str, int]:
    user = get_user_or_404(user_id)
    if user.id != g.user.id:
        abort(403, "You can delete only your own account.")
    # The password too: a stolen token must not be enough to end the account.
    confirm_password(user, json_body(PASSWORD_FIELDS)["password"])
    # Their posts and tokens go too: ON DELETE CASCADE, in the same transaction.
    # A DELETE statement reports how many rows it removed: none means another
    # request deleted the account since this one's token was checked.
    removed = Session.execute(delete(User).where(User.id == user.id)).rowcount
    Session.commit()
    if removed == 0:
        abort(404, f"There is no user with id {user_id}.")
    return "", 204


def get_user_or_404(user_id: int) -> User:
    user = Session.get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return user
