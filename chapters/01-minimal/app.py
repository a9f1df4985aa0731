"""The blog API in one file, on Python's standard sqlite3 module.

flask --app app init-db     create the tables (once)
flask --app app run         serve on http://127.0.0.1:5000
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import click
from flask import Flask, abort, g, request, url_for
from markupsafe import escape
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
)
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

app = Flask(__name__)
app.config.from_mapping(
    # The database file; tests point this at a temporary file.
    DATABASE="blog.sqlite",
    # Seconds a writer waits for a lock; after that the client gets a 503.
    SQLITE_TIMEOUT=5.0,
    # The most a request body may hold, checked when the body is read. The
    # longest valid post takes 122,425 bytes when every character is an emoji
    # that the client escapes as JSON does by default (12 bytes each).
    MAX_CONTENT_LENGTH=128 * 1024,
)
# FLASK_* variables override the defaults, e.g. FLASK_DATABASE=/srv/blog.sqlite.
app.config.from_prefixed_env()

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_user_id ON posts (user_id);
"""
# The largest id SQLite can store: a larger number in a URL cannot be a user,
# and sending it to SQLite would be an error (a 500), not a 404.
MAX_ID = 2**63 - 1


def get_db() -> sqlite3.Connection:
    """One connection per request, opened on first use and kept on ``g``."""
    if "db" not in g:
        g.db = sqlite3.connect(app.config["DATABASE"], timeout=app.config["SQLITE_TIMEOUT"])
        g.db.row_factory = sqlite3.Row
        # Off by default, and per connection: SQLite checks foreign keys only when asked.
        g.db.execute("PRAGMA foreign_keys = ON")
    return g.db


@app.teardown_appcontext
def close_db(exc: BaseException | None = None) -> None:
    """Runs after every request, even a failed one: close the connection."""
    db = g.pop("db", None)
    if db is not None:
        db.close()  # without commit(), what the view did not commit is discarded


@app.cli.command("init-db")
def init_db_command() -> None:
    """Create the tables that do not exist yet. Existing rows are kept."""
    # Create the file for your user only, before SQLite creates it readable by
    # all; its -wal and -shm files take the same permissions.
    Path(app.config["DATABASE"]).touch(mode=0o600)
    db = get_db()
    db.executescript(SCHEMA)
    db.execute("PRAGMA journal_mode=WAL")  # stored in the file: set once here
    click.echo(f"Initialized the database at {app.config['DATABASE']}.")


USERNAME = re.compile(r"[A-Za-z0-9_.-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USER_FIELDS = {"username": 80, "email": 254}  # field name -> maximum length
POST_FIELDS = {"title": 200, "body": 10_000}


def json_body(fields: dict[str, int]) -> dict[str, str]:
    """Return the request's JSON object with exactly ``fields``, or abort with 4xx."""
    if not request.is_json:
        abort(415, "Send a JSON body with 'Content-Type: application/json'.")
    try:
        body = request.get_data()
        # Without a Content-Length (a chunked body), Werkzeug stops reading at
        # the limit instead of refusing: a body that fills it was cut short.
        if request.content_length is None and len(body) >= app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()
        data = request.get_json()
    except RequestEntityTooLarge:
        limit = app.config["MAX_CONTENT_LENGTH"]
        abort(413, f"The request body is larger than the limit of {limit:,} bytes.")
    except (BadRequest, RecursionError):
        abort(400, "The request body is not valid JSON.")
    except Exception:
        # The server decodes a chunked body while we read it, and raises an error
        # of its own for a malformed one (gunicorn's is neither OSError nor HTTP).
        abort(400, "The request body could not be read.")
    if not isinstance(data, dict):
        abort(400, "The request body must be a JSON object.")
    missing = sorted(fields.keys() - data.keys())
    unknown = sorted(data.keys() - fields.keys())
    if missing:
        abort(400, f"Missing field(s): {', '.join(missing)}.")
    if unknown:
        abort(400, f"Unknown field(s): {', '.join(unknown)}.")
    clean = {}
    for name, max_length in fields.items():
        value = data[name]
        if not isinstance(value, str):
            abort(400, f"'{name}' must be a string.")
        # Measured as sent, so the longest valid body has a known size.
        if len(value) > max_length:
            abort(400, f"'{name}' must be at most {max_length} characters.")
        value = value.strip()
        if not value:
            abort(400, f"'{name}' must not be empty.")
        if "\x00" in value:
            abort(400, f"'{name}' must not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            abort(400, f"'{name}' is not valid Unicode text.")
        clean[name] = value
    return clean


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: like ``<int:...>``, but one spelling per id.

    ``int`` also takes other scripts' digits ("١", "１") and leading zeros
    ("01"), so one user would have many URLs, and a proxy rule or cache key
    written for /users/1 would miss some. Ids start at 1.
    """

    regex = r"[1-9][0-9]*"


app.url_map.converters["id"] = IdConverter


@app.get("/")
def index() -> str:
    # The URL can carry text from the request (the SCRIPT_NAME a proxy sends),
    # so it is escaped before it goes into HTML.
    users = escape(url_for("list_users"))
    return f'<h1>The blog is up</h1><p>The API starts at <a href="{users}">{users}</a>.</p>'


@app.get("/users")
def list_users() -> list[dict[str, Any]]:
    rows = get_db().execute("SELECT id, username, email FROM users ORDER BY id")
    return [dict(row) for row in rows]


@app.post("/users")
def create_user() -> tuple[dict[str, Any], int]:
    data = json_body(USER_FIELDS)
    if not USERNAME.fullmatch(data["username"]):
        abort(400, "'username' is not valid (letters, digits, _ . -).")
    if not EMAIL.fullmatch(data["email"]):
        abort(400, "'email' is not valid (like ada@example.com).")
    db = get_db()
    try:
        # Placeholders (?) let sqlite3 pass values separately from the SQL,
        # so no input can change the statement.
        cursor = db.execute(
            "INSERT INTO users (username, email) VALUES (?, ?)",
            (data["username"], data["email"]),
        )
        db.commit()
    except sqlite3.IntegrityError:
        abort(409, f"The username {data['username']!r} is taken.")
    return get_user(cursor.lastrowid), 201


@app.get("/users/<id:user_id>")
def get_user(user_id: int) -> dict[str, Any]:
    return dict(get_user_or_404(user_id))


@app.get("/users/<id:user_id>/posts")
def list_posts(user_id: int) -> list[dict[str, Any]]:
    get_user_or_404(user_id)
    rows = get_db().execute(
        "SELECT id, user_id, title, body FROM posts WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    return [dict(row) for row in rows]


@app.post("/users/<id:user_id>/posts")
def create_post(user_id: int) -> tuple[dict[str, Any], int]:
    get_user_or_404(user_id)
    data = json_body(POST_FIELDS)
    db = get_db()
    try:
        cursor = db.execute(
            "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)",
            (user_id, data["title"], data["body"]),
        )
        db.commit()
    except sqlite3.IntegrityError:  # the user was deleted since we looked it up
        abort(404, f"There is no user with id {user_id}.")
    row = db.execute(
        "SELECT id, user_id, title, body FROM posts WHERE id = ?", (cursor.lastrowid,)
    ).fetchone()
    return dict(row), 201


def get_user_or_404(user_id: int) -> sqlite3.Row:
    row = None
    if user_id <= MAX_ID:
        row = (
            get_db()
            .execute("SELECT id, username, email FROM users WHERE id = ?", (user_id,))
            .fetchone()
        )
    if row is None:
        abort(404, f"There is no user with id {user_id}.")
    return row


@app.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> Response:
    """400, 404, 405, 413, ...: say what went wrong, in JSON, keeping status and headers."""
    response = error.get_response()  # keeps the status and headers such as Allow
    response.set_data(json.dumps({"error": error.name, "message": error.description or ""}))
    response.content_type = "application/json"
    return response


@app.errorhandler(sqlite3.OperationalError)
def handle_database_busy(error: sqlite3.OperationalError) -> Response:
    """Still locked after the timeout: a 503 the client may retry."""
    if not error.sqlite_errorname.startswith("SQLITE_BUSY"):
        return handle_unexpected_error(error)
    busy = ServiceUnavailable("The database is busy. Try again shortly.", retry_after=1)
    return handle_http_error(busy)


@app.errorhandler(Exception)
def handle_unexpected_error(error: Exception) -> Response:
    """A bug: log the traceback for us, show nothing internal to the client."""
    app.logger.exception("Unhandled exception", exc_info=error)
    return handle_http_error(InternalServerError())


if __name__ == "__main__":
    app.run()
