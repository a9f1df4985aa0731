"""Posts: anyone may read them; only their author may change or delete them."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import abort, g, url_for
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from blog import schemas
from blog.auth import login_required, unauthorized
from blog.db import Session
from blog.errors import broke
from blog.models import MAX_ID, Post
from blog.pagination import keyset_page
from blog.users import get_user_or_404

bp = APIBlueprint("posts", __name__)

# A client that made a post can read and edit it: the document links them.
NEW_POST_LINKS = {
    name: {"operationId": operation, "parameters": {"post_id": "$response.body#/id"}}
    for name, operation in [
        ("GetPost", "get_posts_get_post"),
        ("EditPost", "patch_posts_update_post"),
    ]
}


@bp.get("/users/<id:user_id>/posts")
@bp.input(schemas.Page, location="query", arg_name="page")
@bp.output(schemas.PostPage)
def list_posts(user_id: int, page: schemas.Page) -> dict[str, Any]:
    get_user_or_404(user_id)
    query = select(Post).where(Post.user_id == user_id)
    return keyset_page(query, Post.id, page, "posts.list_posts", user_id=user_id)


@bp.post("/posts")
@login_required
@bp.input(schemas.NewPost, arg_name="data")
@bp.output(schemas.Post, status_code=201, links=NEW_POST_LINKS)
def create_post(data: schemas.NewPost) -> tuple[schemas.Post, int, dict[str, str]]:
    # The author is whoever the token belongs to, never a field a client sends.
    post = Post(author=g.user, title=data.title, body=data.body)
    Session.add(post)
    try:
        Session.flush()  # the INSERT: the post has its id now
        # Read before the commit, which expires it: reloaded after, a post its
        # author deleted meanwhile would be a 500 for a write that succeeded.
        created = schemas.Post.model_validate(post)
        Session.commit()
    except IntegrityError as error:
        Session.rollback()
        # The author's foreign key (the only one of posts): the account was
        # deleted after its token was checked. Any other failure is a 500.
        if not broke(error, "foreign key", "posts_user_id_fkey"):
            raise
        unauthorized("The account no longer exists.", "invalid_token")
    return created, 201, {"Location": url_for("posts.get_post", post_id=created.id)}


@bp.get("/posts/<id:post_id>")
@bp.output(schemas.Post)
def get_post(post_id: int) -> Post:
    return get_post_or_404(post_id)


@bp.patch("/posts/<id:post_id>")
@login_required
@bp.input(schemas.PostEdit, arg_name="data")
@bp.output(schemas.Post)
@bp.doc(responses={403: "Not your post."})
def update_post(post_id: int, data: schemas.PostEdit) -> schemas.Post:
    post = get_own_post(post_id)
    for name, value in data.changes().items():
        setattr(post, name, value)
    # Read before the commit, which expires it: reloaded after, a post deleted
    # meanwhile would be a 500 for an edit that succeeded.
    edited = schemas.Post.model_validate(post)
    try:
        Session.commit()
    except StaleDataError:  # the UPDATE found no row: the post was deleted meanwhile
        Session.rollback()
        abort(404, f"There is no post with id {post_id}.")
    return edited


@bp.delete("/posts/<id:post_id>")
@login_required
@bp.output({}, status_code=204)
@bp.doc(responses={403: "Not your post."})
def delete_post(post_id: int) -> tuple[str, int]:
    post = get_own_post(post_id)
    # A DELETE statement, unlike Session.delete(), reports how many rows it removed:
    # none means another request deleted the post since we read it.
    removed = Session.execute(delete(Post).where(Post.id == post.id)).rowcount
    Session.commit()
    if removed == 0:
        abort(404, f"There is no post with id {post_id}.")
    return "", 204


def get_post_or_404(post_id: int) -> Post:
    post = Session.get(Post, post_id) if post_id <= MAX_ID else None
    if post is None:
        abort(404, f"There is no post with id {post_id}.")
    return post


def get_own_post(post_id: int) -> Post:
    """The post, if it is the current user's; 404 if there is none, 403 if it is not theirs.

    403, not 404: anyone may read a post, so hiding that it exists would hide
    nothing, and "not yours" tells the client what is wrong.
    """
    post = get_post_or_404(post_id)
    if post.user_id != g.user.id:
        abort(403, "Only the author of a post can change or delete it.")
    return post
