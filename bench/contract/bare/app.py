"""The baseline: chapter 05's way, by hand. The view checks the body with
``json_body``, writes the answer with a dict, and a typed document describes both."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, Flask, abort, current_app, g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

from bench.contract.patterns import MULTILINE, ONE_LINE, PASSWORD, USERNAME, is_text
from bench.contract.store import MAX_ID, Store

bp = Blueprint("api", __name__)


class IdConverter(IntegerConverter):
    regex = r"[1-9][0-9]*"  # one spelling per id: no "01", no other scripts' digits


@dataclass(frozen=True)
class TextField:
    """A string field: at most ``max_length`` characters as sent, matching ``pattern``."""

    max_length: int
    pattern: str
    min_length: int = 1
    secret: bool = False  # taken as typed: not trimmed, only normalized and hashed
    email: bool = False


USER_FIELDS = {
    "username": TextField(80, USERNAME),
    "email": TextField(254, ONE_LINE, email=True),
    "password": TextField(128, PASSWORD, min_length=15, secret=True),
}
POST_FIELDS = {"title": TextField(200, ONE_LINE), "body": TextField(10_000, MULTILINE)}


def json_body(fields: dict[str, TextField], partial: bool = False) -> dict[str, str]:
    if not request.is_json:
        abort(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        data = request.get_json()
    except (BadRequest, RecursionError):
        abort(400, "The request body is not valid JSON.")
    if not isinstance(data, dict):
        abort(400, "The request body must be a JSON object.")
    missing = sorted(fields.keys() - data.keys())
    if missing and not partial:
        abort(400, f"Missing field(s): {', '.join(missing)}.")
    if data.keys() - fields.keys():
        abort(400, "Unknown fields are not accepted.")
    if not data:
        abort(400, f"Send at least one of: {', '.join(fields)}.")
    return {
        name: check_text(name, data[name], rule) for name, rule in fields.items() if name in data
    }


def check_text(name: str, value: Any, rule: TextField) -> str:
    if not isinstance(value, str):
        abort(400, f"'{name}' must be a string.")
    if not rule.min_length <= len(value) <= rule.max_length:
        abort(400, f"'{name}' must be {rule.min_length} to {rule.max_length} characters.")
    if not is_text(value) or not re.fullmatch(rule.pattern, value):
        abort(400, f"'{name}' is empty or holds characters that are not allowed.")
    if rule.email:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as error:
            abort(400, f"'email' is not valid: {error}")
    return unicodedata.normalize("NFKC", value) if rule.secret else value.strip()


def login_required() -> None:
    auth = request.authorization
    challenge = WWWAuthenticate("bearer", {"realm": "blog"})
    if auth is None or auth.type != "bearer":
        abort(401, "Send 'Authorization: Bearer <token>'.", www_authenticate=challenge)
    user = store().user_for_token(auth.token or "")
    if user is None:
        challenge["error"] = "invalid_token"
        abort(401, "The token is not valid.", www_authenticate=challenge)
    g.user = user


def store() -> Store:
    return current_app.extensions["store"]


def user_out(user: dict[str, Any], private: bool = False) -> dict[str, Any]:
    keys = ("id", "username", "email") if private else ("id", "username")
    return {key: user[key] for key in keys}


def post_out(post: dict[str, Any]) -> dict[str, Any]:
    return {key: post[key] for key in ("id", "user_id", "title", "body", "created_at")}


@bp.post("/users")
def create_user() -> tuple[dict[str, Any], int]:
    data = json_body(USER_FIELDS)
    user = store().add_user(**data)
    if user is None:
        abort(409, "The username is taken.")
    return user_out(user, private=True), 201


@bp.get("/users/<id:user_id>")
def get_user(user_id: int) -> dict[str, Any]:
    user = store().get_user(user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404, f"There is no user with id {user_id}.")
    return user_out(user)


@bp.post("/posts")
def create_post() -> tuple[dict[str, Any], int]:
    login_required()
    data = json_body(POST_FIELDS)
    return post_out(store().add_post(g.user["id"], **data)), 201


@bp.patch("/posts/<id:post_id>")
def update_post(post_id: int) -> dict[str, Any]:
    login_required()
    post = store().get_post(post_id) if post_id <= MAX_ID else None
    if post is None:
        abort(404, f"There is no post with id {post_id}.")
    if post["user_id"] != g.user["id"]:
        abort(403, "Only the author of a post can change it.")
    post.update(json_body(POST_FIELDS, partial=True))
    return post_out(post)


def string(rule: TextField) -> dict[str, Any]:
    schema = {"type": "string", "maxLength": rule.max_length, "pattern": rule.pattern}
    if rule.secret:
        schema["minLength"] = rule.min_length
    if rule.email:
        schema["format"] = "email"
    return schema


def body_schema(fields: dict[str, TextField], partial: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: string(rule) for name, rule in fields.items()},
        "additionalProperties": False,
    }
    if partial:
        schema["minProperties"] = 1
    else:
        schema["required"] = list(fields)
    return schema


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


INTEGER, STRING = {"type": "integer"}, {"type": "string"}
SCHEMAS = {
    "User": obj(id=INTEGER, username=STRING),
    "Account": obj(id=INTEGER, username=STRING, email=STRING),
    "Post": obj(
        id=INTEGER,
        user_id=INTEGER,
        title=STRING,
        body=STRING,
        created_at={"type": "string", "format": "date-time"},
    ),
    "Error": obj(error=STRING, message=STRING),
}


def answer(description: str, schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): answer("An error; the message says why.", "Error") for code in codes}


def with_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def id_parameter(name: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema}


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Blog API (slice)", "version": "1.0.0"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/users": {
            "post": {
                "operationId": "register",
                "requestBody": with_body(body_schema(USER_FIELDS)),
                "responses": {"201": answer("The account.", "Account"), **errors(400, 409, 415)},
            }
        },
        "/users/{user_id}": {
            "get": {
                "operationId": "getUser",
                "parameters": [id_parameter("user_id")],
                "responses": {"200": answer("The user.", "User"), **errors(404)},
            }
        },
        "/posts": {
            "post": {
                "operationId": "createPost",
                "security": [{"bearer": []}],
                "requestBody": with_body(body_schema(POST_FIELDS)),
                "responses": {"201": answer("The post.", "Post"), **errors(400, 401, 415)},
            }
        },
        "/posts/{post_id}": {
            "patch": {
                "operationId": "updatePost",
                "security": [{"bearer": []}],
                "parameters": [id_parameter("post_id")],
                "requestBody": with_body(body_schema(POST_FIELDS, partial=True)),
                "responses": {
                    "200": answer("The post.", "Post"),
                    **errors(400, 401, 403, 404, 415),
                },
            }
        },
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return DOCUMENT


def handle_http_error(error: HTTPException) -> Any:
    response = error.get_response()  # keeps the status and headers such as WWW-Authenticate
    response.set_data(json.dumps({"error": error.name, "message": error.description or ""}))
    response.content_type = "application/json"
    return response


def create_app(data: Store) -> Flask:
    app = Flask(__name__)
    app.extensions["store"] = data
    app.url_map.converters["id"] = IdConverter
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_blueprint(bp, url_prefix="/api")
    return app
