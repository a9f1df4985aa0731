"""spectree: ``@api.validate`` takes the body's model and the answers' models;
the view gets the validated body as its ``json`` argument."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, request
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException

from bench.contract.schemas import Account, Error, NewPost, NewUser, Post, PostEdit, User, describe
from bench.contract.store import MAX_ID, Store

bp = Blueprint("api", __name__)
BEARER = {"bearer": []}


def refuse(request: Any, response: Any, error: Exception | None, instance: Any, *_: Any) -> None:
    # spectree's hook before the view: turn its validation error into ours.
    if isinstance(error, ValidationError):
        abort(400, describe(error))


api = SpecTree(
    "flask",
    title="Blog API (slice)",
    version="1.0.0",
    path="api/doc",  # the document at /api/doc/openapi.json (not "api": that hides /api/*)
    before=refuse,
    validation_error_status=400,
    validation_error_model=Error,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))
    ],
)


def store() -> Store:
    return current_app.extensions["store"]


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    # Outside @api.validate: the token is checked before the body.
    @functools.wraps(view)
    def wrapped_view(**kwargs: Any) -> Any:
        auth = request.authorization
        challenge = WWWAuthenticate("bearer", {"realm": "blog"})
        if auth is None or auth.type != "bearer":
            abort(401, "Send 'Authorization: Bearer <token>'.", www_authenticate=challenge)
        g.user = store().user_for_token(auth.token or "")
        if g.user is None:
            challenge["error"] = "invalid_token"
            abort(401, "The token is not valid.", www_authenticate=challenge)
        return view(**kwargs)

    return wrapped_view


@bp.post("/users")
@api.validate(json=NewUser, resp=Response(HTTP_201=Account, HTTP_400=Error, HTTP_409=Error))
def create_user(json: NewUser) -> tuple[Account, int]:
    user = store().add_user(json.username, str(json.email), json.password)
    if user is None:
        abort(409, "The username is taken.")
    return Account.model_validate(user), 201


@bp.get(f"/users/<int(min=1, max={MAX_ID}):user_id>")
@api.validate(resp=Response(HTTP_200=User, HTTP_404=Error))
def get_user(user_id: int) -> User:
    user = store().get_user(user_id)
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return User.model_validate(user)


@bp.post("/posts")
@login_required
@api.validate(
    json=NewPost, resp=Response(HTTP_201=Post, HTTP_400=Error, HTTP_401=Error), security=BEARER
)
def create_post(json: NewPost) -> tuple[Post, int]:
    return Post.model_validate(store().add_post(g.user["id"], json.title, json.body)), 201


@bp.patch(f"/posts/<int(min=1, max={MAX_ID}):post_id>")
@login_required
@api.validate(
    json=PostEdit,
    resp=Response(HTTP_200=Post, HTTP_400=Error, HTTP_401=Error, HTTP_403=Error, HTTP_404=Error),
    security=BEARER,
)
def update_post(post_id: int, json: PostEdit) -> Post:
    post = store().get_post(post_id)
    if post is None:
        abort(404, f"There is no post with id {post_id}.")
    if post["user_id"] != g.user["id"]:
        abort(403, "Only the author of a post can change it.")
    post.update(json.changes())
    return Post.model_validate(post)


def handle_http_error(error: HTTPException) -> Any:
    response = error.get_response()  # keeps the status and headers such as WWW-Authenticate
    body = {"error": error.name, "message": error.description or ""}
    response.set_data(json.dumps(body))
    response.content_type = "application/json"
    return response


def create_app(data: Store) -> Flask:
    app = Flask(__name__)
    app.extensions["store"] = data
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_blueprint(bp, url_prefix="/api")
    api.register(app)
    return app


OPENAPI = "/api/doc/openapi.json"
