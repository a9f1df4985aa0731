"""The JSON API: users and their posts."""

from __future__ import annotations

from flask import Blueprint, abort, url_for
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter

from blog.db import Session
from blog.models import MAX_ID, Post, User
from blog.validation import POST_FIELDS, USER_FIELDS, json_body

bp = Blueprint("api", __name__)


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: like ``<int:...>``, but one spelling per id.

    ``int`` also takes other scripts' digits ("١", "１") and leading zeros
    ("01"), so one user would have many URLs, and a proxy rule or cache key
    written for /users/1 would miss some. Ids start at 1.
    """

    regex = r"[1-9][0-9]*"


@bp.get("/")
def index() -> str:
    # The URL can carry text from the request (the SCRIPT_NAME a proxy sends),
    # so it is escaped before it goes into HTML.
    users = escape(url_for("api.list_users"))
    return f'<h1>The blog is up</h1><p>The API starts at <a href="{users}">{users}</a>.</p>'


@bp.get("/users")
def list_users() -> list[dict]:
    # A list needs values, not objects to change: select the three columns.
    rows = Session.execute(select(User.id, User.username, User.email).order_by(User.id))
    return [dict(row) for row in rows.mappings()]


@bp.post("/users")
def create_user() -> tuple[dict, int]:
    data = json_body(USER_FIELDS)
    # Case-blind, like the unique index: "Ada" is taken when "ada" exists.
    taken = func.lower(User.username) == data["username"].lower()
    if Session.scalar(select(User.id).where(taken)):
        abort(409, f"The username {data['username']!r} is taken.")
    user = User(**data)
    Session.add(user)
    try:
        Session.commit()
    except IntegrityError:  # another request took the name since our check
        Session.rollback()
        abort(409, f"The username {data['username']!r} is taken.")
    return user.to_dict(), 201


@bp.get("/users/<id:user_id>")
def get_user(user_id: int) -> dict:
    return get_user_or_404(user_id).to_dict()


@bp.get("/users/<id:user_id>/posts")
def list_posts(user_id: int) -> list[dict]:
    return [post.to_dict() for post in get_user_or_404(user_id).posts]


@bp.post("/users/<id:user_id>/posts")
def create_post(user_id: int) -> tuple[dict, int]:
    user = get_user_or_404(user_id)
    post = Post(author=user, **json_body(POST_FIELDS))
    Session.add(post)
    try:
        Session.commit()
    except IntegrityError:  # the user was deleted since we looked it up
        Session.rollback()
        abort(404, f"There is no user with id {user_id}.")
    return post.to_dict(), 201


def get_user_or_404(user_id: int) -> User:
    user = Session.get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return user
