"""The API's contract: an OpenAPI 3.1 document, served at /api/openapi.json.

Built in Python from the same limits the code checks (field lengths, page
sizes, the largest id), so the document cannot drift from them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from blog.models import MAX_ID
from blog.pagination import DEFAULT_LIMIT, MAX_LIMIT
from blog.validation import (
    LOGIN_FIELDS,
    PASSWORD_CHANGE_FIELDS,
    PASSWORD_FIELDS,
    POST_FIELDS,
    USER_FIELDS,
    TextField,
    normalize_email,
)

bp = Blueprint("openapi", __name__)

JSON = "application/json"
BEARER = [{"bearer": []}]  # the security requirement of every write that needs a login
PUBLIC: list[dict[str, list[str]]] = []  # reads, registering and logging in


def string(rule: TextField) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": rule.min_length,
        "maxLength": rule.max_length,
    }
    if rule.pattern is not None:
        schema["pattern"] = f"^{rule.pattern.pattern}$"
    if rule.normalize is normalize_email:
        schema["format"] = "email"
    return schema


def body_schema(fields: dict[str, TextField], required: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: string(rule) for name, rule in fields.items()},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(fields)
    else:
        schema["minProperties"] = 1
    return schema


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any], example: dict[str, str]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema, "example": example}}}


def answer(description: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict:
    response: dict[str, Any] = {"description": description, **extra}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


def location(what: str) -> dict[str, Any]:
    """The ``Location`` header of a 201: where the new resource can be read."""
    return {
        "Location": {"description": f"The URL of the new {what}.", "schema": {"type": "string"}}
    }


def errors(*codes: int) -> dict[str, Any]:
    """The documented error answers, each a JSON ``Error``: ``codes``, and the 503 of a
    database that is busy or unavailable, which every route that uses it can meet."""
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in (*codes, 503)}


def id_parameter(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "example": 1,
    }


PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "description": "How many items, at most.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    {
        "name": "after",
        "in": "query",
        "description": "Start after this id: the `after` of the previous page's `next` link.",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
    },
]
# A write that needs a login answers 401 to a missing or bad token.
SIGNED_WRITE = {"security": BEARER}
USER_ID = id_parameter("user_id", "user")
POST_ID = id_parameter("post_id", "post")
CREATED_POST_LINKS = {
    name: {"operationId": operation, "parameters": {"post_id": "$response.body#/id"}}
    for name, operation in [("GetPost", "getPost"), ("UpdatePost", "updatePost")]
}
NEW_USER = {"username": "ada", "email": "ada@example.com", "password": "correct horse battery"}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Blog API",
        "version": "4.0.0",
        "description": "Users and their posts. Anyone may read; writes need a bearer token "
        "from POST /auth/login, and only a post's author may change it.",
    },
    "servers": [{"url": "/api"}],
    "security": PUBLIC,
    "paths": {
        "/auth/login": {
            "post": {
                "operationId": "login",
                "summary": "Exchange a username and password for a bearer token",
                "requestBody": body(
                    body_schema(LOGIN_FIELDS),
                    {"username": "ada", "password": "correct horse battery"},
                ),
                "responses": {
                    "200": answer(
                        "A new token, shown only this once.",
                        ref("Token"),
                        headers={
                            "Cache-Control": {
                                "description": "no-store: no cache may keep the token.",
                                "schema": {"type": "string", "const": "no-store"},
                            }
                        },
                    ),
                    **errors(400, 401, 413, 415),
                },
            }
        },
        "/auth/logout": {
            "post": {
                "operationId": "logout",
                "summary": "End the token sent with this request",
                **SIGNED_WRITE,
                "responses": {"204": answer("The token no longer works."), **errors(401)},
            }
        },
        "/auth/logout-everywhere": {
            "post": {
                "operationId": "logoutEverywhere",
                "summary": "End every token of the account, this one included",
                **SIGNED_WRITE,
                "responses": {"204": answer("No token of the account works."), **errors(401)},
            }
        },
        "/auth/password": {
            "post": {
                "operationId": "changePassword",
                "summary": "Change the password; every other token of the account ends",
                **SIGNED_WRITE,
                "requestBody": body(
                    body_schema(PASSWORD_CHANGE_FIELDS),
                    {
                        "current_password": "correct horse battery",
                        "new_password": "a longer and newer passphrase",
                    },
                ),
                "responses": {
                    "204": answer("Changed. The token of this request still works."),
                    **errors(400, 401, 403, 413, 415),
                },
            }
        },
        "/auth/me": {
            "get": {
                "operationId": "getAccount",
                "summary": "The account the token belongs to, with its e-mail address",
                "security": BEARER,
                "responses": {"200": answer("The account.", ref("Account")), **errors(401)},
            }
        },
        "/users": {
            "get": {
                "operationId": "listUsers",
                "summary": "Users, oldest first, a page at a time",
                "parameters": PAGE_PARAMETERS,
                "responses": {"200": answer("A page of users.", ref("UserPage")), **errors(400)},
            },
            "post": {
                "operationId": "register",
                "summary": "Register an account",
                "requestBody": body(body_schema(USER_FIELDS), NEW_USER),
                "responses": {
                    "201": answer(
                        "The new account.",
                        ref("Account"),
                        headers=location("account"),
                        links={
                            "GetUser": {
                                "operationId": "getUser",
                                "parameters": {"user_id": "$response.body#/id"},
                            }
                        },
                    ),
                    **errors(400, 409, 413, 415),
                },
            },
        },
        "/users/{user_id}": {
            "parameters": [USER_ID],
            "get": {
                "operationId": "getUser",
                "summary": "One user",
                "responses": {"200": answer("The user.", ref("User")), **errors(404)},
            },
            "delete": {
                "operationId": "deleteUser",
                "summary": "Delete your own account, with its posts and tokens",
                "description": "The token is not enough: the body carries the password.",
                **SIGNED_WRITE,
                "requestBody": body(
                    body_schema(PASSWORD_FIELDS), {"password": "correct horse battery"}
                ),
                "responses": {
                    "204": answer("Deleted."),
                    **errors(400, 401, 403, 404, 413, 415),
                },
            },
        },
        "/users/{user_id}/posts": {
            "parameters": [USER_ID],
            "get": {
                "operationId": "listPosts",
                "summary": "One user's posts, oldest first, a page at a time",
                "parameters": PAGE_PARAMETERS,
                "responses": {
                    "200": answer("A page of posts.", ref("PostPage")),
                    **errors(400, 404),
                },
            },
        },
        "/posts": {
            "post": {
                "operationId": "createPost",
                "summary": "Write a post as the token's user",
                **SIGNED_WRITE,
                "requestBody": body(
                    body_schema(POST_FIELDS), {"title": "Hello", "body": "My first post."}
                ),
                "responses": {
                    "201": answer(
                        "The new post.",
                        ref("Post"),
                        headers=location("post"),
                        links=CREATED_POST_LINKS,
                    ),
                    **errors(400, 401, 413, 415),
                },
            }
        },
        "/posts/{post_id}": {
            "parameters": [POST_ID],
            "get": {
                "operationId": "getPost",
                "summary": "One post",
                "responses": {"200": answer("The post.", ref("Post")), **errors(404)},
            },
            "patch": {
                "operationId": "updatePost",
                "summary": "Change the title, the body or both of your own post",
                **SIGNED_WRITE,
                "requestBody": body(body_schema(POST_FIELDS, required=False), {"title": "Hi"}),
                "responses": {
                    "200": answer("The changed post.", ref("Post")),
                    **errors(400, 401, 403, 404, 413, 415),
                },
            },
            "delete": {
                "operationId": "deletePost",
                "summary": "Delete your own post",
                **SIGNED_WRITE,
                "responses": {"204": answer("Deleted."), **errors(401, 403, 404)},
            },
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from POST /auth/login.",
            }
        },
        "schemas": {
            "User": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "username": {"type": "string"}},
                "required": ["id", "username"],
                "additionalProperties": False,
            },
            "Account": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "username": {"type": "string"},
                    "email": {"type": "string"},
                },
                "required": ["id", "username", "email"],
                "additionalProperties": False,
            },
            "Post": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "user_id": {"type": "integer"},
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
                "required": ["id", "user_id", "title", "body", "created_at"],
                "additionalProperties": False,
            },
            "UserPage": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": ref("User"), "maxItems": MAX_LIMIT},
                    "next": {"type": ["string", "null"]},
                },
                "required": ["items", "next"],
                "additionalProperties": False,
            },
            "PostPage": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": ref("Post"), "maxItems": MAX_LIMIT},
                    "next": {"type": ["string", "null"]},
                },
                "required": ["items", "next"],
                "additionalProperties": False,
            },
            "Token": {
                "type": "object",
                "properties": {
                    "token": {"type": "string"},
                    "token_type": {"const": "Bearer"},
                    "expires_in": {"type": "integer", "description": "Seconds from now."},
                },
                "required": ["token", "token_type", "expires_in"],
                "additionalProperties": False,
            },
            "Error": {
                "type": "object",
                "properties": {
                    "error": {"type": "string", "description": "The HTTP status, in words."},
                    "message": {"type": "string", "description": "What to fix."},
                },
                "required": ["error", "message"],
                "additionalProperties": False,
            },
        },
        "responses": {
            **{
                str(code): answer(description, ref("Error"))
                for code, description in [
                    (400, "The request is not valid; the message says why."),
                    (403, "Logged in, but not allowed: it is not yours, or the password is wrong."),
                    (404, "There is no such user or post."),
                    (409, "The username is taken."),
                    (413, "The body is larger than the server accepts."),
                    (415, "The body is not JSON."),
                ]
            },
            "401": answer(
                "No token, or one that is malformed, unknown, expired or logged out.",
                ref("Error"),
                headers={
                    "WWW-Authenticate": {
                        "description": 'How to authenticate, e.g. `Bearer realm="blog"`.',
                        "required": True,
                        "schema": {"type": "string"},
                    }
                },
            ),
            "503": answer(
                "The database is busy (SQLite stayed locked past its timeout) or "
                "unavailable; try again.",
                ref("Error"),
                headers={
                    "Retry-After": {
                        "description": "Seconds to wait before trying again.",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                },
            ),
        },
    },
}


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return DOCUMENT
