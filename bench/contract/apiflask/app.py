"""APIFlask with its pydantic adapter: each view declares its input, output and
auth with decorators; the same models validate, shape and document."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, APIFlask, HTTPTokenAuth, abort
from apiflask.exceptions import HTTPError
from flask import current_app
from pydantic import ValidationError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from bench.contract.schemas import Account, Error, NewPost, NewUser, Post, PostEdit, User, describe
from bench.contract.store import MAX_ID, Store

bp = APIBlueprint("api", __name__)
ERROR_SCHEMA = Error.model_json_schema()
auth = HTTPTokenAuth(scheme="Bearer")


def store() -> Store:
    return current_app.extensions["store"]


@auth.verify_token
def verify_token(token: str) -> dict[str, Any]:
    user = store().user_for_token(token)
    if user is None:
        challenge = WWWAuthenticate("bearer", {"realm": "blog", "error": "invalid_token"})
        abort(401, "The token is not valid.", headers={"WWW-Authenticate": challenge.to_header()})
    return user


@auth.error_processor
def no_token(error: HTTPError) -> tuple[dict[str, str], int, dict[str, str]]:
    # Flask-HTTPAuth calls this when no bearer token came at all.
    headers = {"WWW-Authenticate": 'Bearer realm="blog"'}
    body = {"error": "Unauthorized", "message": "Send 'Authorization: Bearer <token>'."}
    return body, 401, headers


@bp.post("/users")
@bp.doc(responses=[201, 400, 409])
@bp.input(NewUser)
@bp.output(Account, status_code=201)
def create_user(json_data: NewUser) -> dict[str, Any]:
    user = store().add_user(json_data.username, str(json_data.email), json_data.password)
    if user is None:
        abort(409, "The username is taken.")
    return user


@bp.get("/users/<int:user_id>")
@bp.output(User)
def get_user(user_id: int) -> dict[str, Any]:
    user = store().get_user(user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return user


@bp.post("/posts")
@bp.auth_required(auth)
@bp.input(NewPost)
@bp.output(Post, status_code=201)
def create_post(json_data: NewPost) -> dict[str, Any]:
    return store().add_post(auth.current_user["id"], json_data.title, json_data.body)


@bp.patch("/posts/<int:post_id>")
@bp.auth_required(auth)
@bp.doc(responses=[200, 400, 401, 403, 404])
@bp.input(PostEdit)
@bp.output(Post)
def update_post(post_id: int, json_data: PostEdit) -> dict[str, Any]:
    post = store().get_post(post_id) if post_id <= MAX_ID else None
    if post is None:
        abort(404, f"There is no post with id {post_id}.")
    if post["user_id"] != auth.current_user["id"]:
        abort(403, "Only the author of a post can change it.")
    post.update(json_data.changes())
    return post


def error_body(error: HTTPError) -> tuple[dict[str, str], int, Any]:
    """Every error, the adapter's validation errors included, as {"error", "message"}."""
    message = error.message
    if isinstance(error.__cause__, ValidationError):
        message = describe(error.__cause__)
    body = {"error": HTTP_STATUS_CODES[error.status_code], "message": message}
    return body, error.status_code, error.headers


def werkzeug_error(error: HTTPException) -> tuple[dict[str, str], int, Any]:
    # APIFlask's own handler keeps only the name (error.name): keep the description too.
    headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return error_body(HTTPError(error.code or 500, error.description, headers=headers))


def create_app(data: Store) -> APIFlask:
    app = APIFlask(
        __name__,
        title="Blog API (slice)",
        version="1.0.0",
        spec_path="/api/openapi.json",
        docs_path=None,
    )
    app.config.update(
        VALIDATION_ERROR_STATUS_CODE=400,  # chapter 05 answers 400 to bad input, not 422
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
    )
    app.extensions["store"] = data
    app.error_processor(error_body)
    app.register_error_handler(HTTPException, werkzeug_error)
    app.register_blueprint(bp, url_prefix="/api")
    return app
