"""Users: anyone may list them and read one; a person registers and deletes themselves."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import abort, g, url_for
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from blog import ratelimit, schemas
from blog.auth import NO_STORE, confirm_password, hash_password, login_required
from blog.db import Session
from blog.errors import broke
from blog.models import MAX_ID, User
from blog.pagination import keyset_page

bp = APIBlueprint("users", __name__)


@bp.get("/users")
@bp.input(schemas.Page, location="query", arg_name="page")
@bp.output(schemas.UserPage)
def list_users(page: schemas.Page) -> dict[str, Any]:
    # Newest first; schemas.User shows the public columns only.
    return keyset_page(select(User), User.id, page, "users.list_users")


# Whoever registered can read the account, and its posts: the document links them.
NEW_USER_LINKS = {
    name: {"operationId": operation, "parameters": {"user_id": "$response.body#/id"}}
    for name, operation in [
        ("GetUser", "get_users_get_user"),
        ("ListPosts", "get_posts_list_posts"),
    ]
}


@bp.post("/users")
@ratelimit.attempts
@bp.input(schemas.NewUser, arg_name="data")
@bp.output(schemas.Account, status_code=201, links=NEW_USER_LINKS)
@bp.doc(responses={409: "The username is taken.", 429: "Too many attempts."})
def create_user(data: schemas.NewUser) -> tuple[schemas.Account, int, dict[str, str]]:
    taken = f"The username {data.username!r} is taken."
    if Session.scalar(select(User.id).where(func.lower(User.username) == data.username.lower())):
        abort(409, taken)
    # scrypt: slow on purpose, so a stolen table is slow to guess from.
    password_hash = hash_password(data.password)
    user = User(username=data.username, email=data.email, password_hash=password_hash)
    Session.add(user)
    try:
        Session.flush()  # the INSERT: the user has its id now
        # Read before the commit, which expires it: reloaded after, an account
        # its owner deleted meanwhile would be a 500 for a write that succeeded.
        account = schemas.Account.model_validate(user)
        Session.commit()
    except IntegrityError as error:
        Session.rollback()
        # Another request took the name since our check. Any other failure is a 500.
        if not broke(error, "unique", "uq_users_username_lower"):
            raise
        abort(409, taken)
    # Location names the new resource; without it a 201 means the request's URL (RFC 9110).
    location = url_for("users.get_user", user_id=account.id)
    return account, 201, {"Location": location, **NO_STORE}


@bp.get("/users/<id:user_id>")
@bp.output(schemas.User)
def get_user(user_id: int) -> User:
    return get_user_or_404(user_id)


@bp.delete("/users/<id:user_id>")
@login_required
@bp.input(schemas.PasswordCheck, arg_name="data")
@bp.output({}, status_code=204)
@bp.doc(responses={403: "Not your account, or the password is wrong."})
def delete_user(user_id: int, data: schemas.PasswordCheck) -> tuple[str, int]:
    user = get_user_or_404(user_id)
    if user.id != g.user.id:
        abort(403, "You can delete only your own account.")
    # The password too: a stolen token must not be enough to end the account.
    confirm_password(user, data.password)
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
