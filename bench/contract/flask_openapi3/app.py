"""flask-openapi3: a view's annotated arguments (``path``, ``body``) are pydantic
models, validated before the view runs; ``responses`` documents the answers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g, make_response, request
from flask_openapi3 import APIBlueprint, Info, OpenAPI
from pydantic import BaseModel, Field, ValidationError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from bench.contract.schemas import Account, Error, NewPost, NewUser, Post, PostEdit, User, describe
from bench.contract.store import MAX_ID, Store

bp = APIBlueprint("api", __name__, url_prefix="/api")
BEARER = [{"bearer": []}]


class IdConverter(IntegerConverter):
    regex = r"[1-9][0-9]*"  # one spelling per id: no "01", no other scripts' digits


class UserPath(BaseModel):
    user_id: int = Field(ge=1, le=MAX_ID)


class PostPath(BaseModel):
    post_id: int = Field(ge=1, le=MAX_ID)


def store() -> Store:
    return current_app.extensions["store"]


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    # Runs inside the library's wrapper, so after the path and body are validated.
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


@bp.post("/users", responses={201: Account, 400: Error, 409: Error})
def create_user(body: NewUser) -> tuple[dict[str, Any], int]:
    user = store().add_user(body.username, str(body.email), body.password)
    if user is None:
        abort(409, "The username is taken.")
    return Account.model_validate(user).model_dump(), 201


@bp.get("/users/<id:user_id>", responses={200: User, 400: Error, 404: Error})
def get_user(path: UserPath) -> dict[str, Any]:
    user = store().get_user(path.user_id)
    if user is None:
        abort(404, f"There is no user with id {path.user_id}.")
    return User.model_validate(user).model_dump()


@bp.post("/posts", security=BEARER, responses={201: Post, 400: Error, 401: Error})
@login_required
def create_post(body: NewPost) -> tuple[dict[str, Any], int]:
    post = store().add_post(g.user["id"], body.title, body.body)
    return Post.model_validate(post).model_dump(), 201


@bp.patch(
    "/posts/<id:post_id>",
    security=BEARER,
    responses={200: Post, 400: Error, 401: Error, 403: Error, 404: Error},
)
@login_required
def update_post(path: PostPath, body: PostEdit) -> dict[str, Any]:
    post = store().get_post(path.post_id)
    if post is None:
        abort(404, f"There is no post with id {path.post_id}.")
    if post["user_id"] != g.user["id"]:
        abort(403, "Only the author of a post can change it.")
    post.update(body.changes())
    return Post.model_validate(post).model_dump()


def validation_error(error: ValidationError) -> Response:
    body = {"error": "Bad Request", "message": describe(error)}
    return make_response(body, 400)


def handle_http_error(error: HTTPException) -> Response:
    response = error.get_response()  # keeps the status and headers such as WWW-Authenticate
    response.set_data(Error(error=error.name, message=error.description or "").model_dump_json())
    response.content_type = "application/json"
    return response


def create_app(data: Store) -> OpenAPI:
    app = OpenAPI(
        __name__,
        info=Info(title="Blog API (slice)", version="1.0.0"),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        validation_error_status=400,
        validation_error_model=Error,
        validation_error_callback=validation_error,
        doc_prefix="/api",  # the document at /api/openapi.json
    )
    app.extensions["store"] = data
    app.url_map.converters["id"] = IdConverter
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_api(bp)
    return app
