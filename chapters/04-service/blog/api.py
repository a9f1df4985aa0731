"""The JSON API: users and their posts."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blog.db import Session
from blog.models import Post, User
from blog.validation import MAX_ID, POST_FIELDS, USER_FIELDS, json_body

bp = Blueprint("api", __name__)


@bp.get("/")
def index() -> str:
    users = url_for("api.list_users")
    return f'<h1>The blog is up</h1><p>The API starts at <a href="{users}">{users}</a>.</p>'


# Built once, at import: building a select() is Python work that can cost more
# than running it, and this list is the busiest read.
USER_LIST = select(User.id, User.username, User.email).order_by(User.id)


@bp.get("/users")
def list_users() -> list[dict]:
    # A JSON list needs values, not objects to track and change: plain rows from
    # a pooled connection skip the session's identity map and bookkeeping.
    with current_app.extensions["blog.engine"].connect() as connection:
        rows = connection.execute(USER_LIST).all()
    return [{"id": id_, "username": name, "email": email} for id_, name, email in rows]


@bp.post("/users")
def create_user() -> tuple[dict, int]:
    data = json_body(USER_FIELDS)
    if Session.scalar(select(User.id).filter_by(username=data["username"])):
        abort(409, f"The username {data['username']!r} is taken.")
    user = User(**data)
    Session.add(user)
    try:
        Session.commit()
    except IntegrityError:  # another request took the name since our check
        Session.rollback()
        abort(409, f"The username {data['username']!r} is taken.")
    return user.to_dict(), 201


@bp.get("/users/<int:user_id>")
def get_user(user_id: int) -> dict:
    return get_user_or_404(user_id).to_dict()


@bp.get("/users/<int:user_id>/posts")
def list_posts(user_id: int) -> list[dict]:
    return [post.to_dict() for post in get_user_or_404(user_id).posts]


@bp.post("/users/<int:user_id>/posts")
def create_post(user_id: int) -> tuple[dict, int]:
    user = get_user_or_404(user_id)
    post = Post(author=user, **json_body(POST_FIELDS))
    Session.add(post)
    Session.commit()
    return post.to_dict(), 201


def get_user_or_404(user_id: int) -> User:
    user = Session.get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return user
