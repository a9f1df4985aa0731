"""One log line per request, each tagged with a request id, in text or JSON lines.

The id is made here, or taken from a sane ``X-Request-ID`` header when a
proxy we trust set it (TRUSTED_PROXIES), and goes back in the response, so a
user's error report, the proxy's log and ours can be matched line by line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import inspect

# Bounded and plain: an id can't forge a log line or fill the disk.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# What a method keeps as it is, like a path: a method is a token (RFC 9110), but
# a client may send anything, and the rest is percent-encoded.
METHOD_SAFE = "!#$&'*+-.^_`|~"
# Probes ask every few seconds; their lines are kept at DEBUG so they don't drown the rest.
QUIET_BLUEPRINTS = {"health"}

request_log = logging.getLogger("blog.request")


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    app.before_request(start_request)
    app.after_request(log_request)


def configure_logging(level: str | int, format: str) -> None:
    """Send every ``blog.*`` logger (``app.logger`` is ``blog``) to stderr, one line each."""
    if format not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT must be 'text' or 'json', not {format!r}.")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(add_request_id)
    handler.setFormatter(JSONFormatter() if format == "json" else TextFormatter())
    logger = logging.getLogger("blog")
    logger.handlers[:] = [handler]  # replaces Flask's default handler, and ours on a new app
    # "info" or "INFO", or a number: FLASK_LOG_LEVEL=10 arrives as the int 10.
    logger.setLevel(level.upper() if isinstance(level, str) else level)


def start_request() -> None:
    sent = request.headers.get("X-Request-ID", "")
    sent = sent if REQUEST_ID.fullmatch(sent) else None  # an odd one is dropped
    # Only a proxy's id is ours to use: a client could send the id of another
    # request, and its lines would mix with that one's. Its id is kept apart.
    if sent and current_app.config["TRUSTED_PROXIES"]:
        g.request_id, g.sent_request_id = sent, None
    else:
        g.request_id, g.sent_request_id = uuid.uuid4().hex, sent
    g.request_start = time.perf_counter()


def log_request(response: Response) -> Response:
    # Only the path: a query string can carry tokens. Never headers or bodies.
    path = quote(request.path, safe="/:@!$&'()*+,;=~")
    method = quote(request.method, safe=METHOD_SAFE)
    duration_ms = round((time.perf_counter() - g.request_start) * 1000, 1)
    level = logging.DEBUG if request.blueprint in QUIET_BLUEPRINTS else logging.INFO
    fields = {
        "method": method,
        "path": path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "client": request.remote_addr,
    }
    more: dict[str, object] = {}  # only when there is something to say
    # The id, not the object: a commit expired g.user, and reloading a deleted account fails.
    if user := g.get("user"):
        more["user_id"] = inspect(user).identity[0]
    if g.sent_request_id:
        more["sent_request_id"] = g.sent_request_id
    if response.status_code in (401, 403):
        # Why, in the words the client got: each refusal has its own fixed sentence.
        more["refused"] = (response.get_json(silent=True) or {}).get("message")
    if unavailable := g.get("unavailable"):  # a 503 of the database's, and why (errors.py)
        more["unavailable"] = unavailable
    line = f"{method} {path} {response.status_code} {duration_ms:.1f}ms {request.remote_addr}"
    line += "".join(f" {name}={json.dumps(value)}" for name, value in more.items())
    request_log.log(level, "%s", line, extra=fields | more)
    response.headers["X-Request-ID"] = g.request_id
    return response


def add_request_id(record: logging.LogRecord) -> bool:
    """Tag every record made during a request (errors too) with the request's id."""
    record.request_id = g.get("request_id", "-") if has_request_context() else "-"
    return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


# The attributes every LogRecord has; anything else was passed with extra={...}.
STANDARD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: what log collectors parse without a pattern."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": record.request_id,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in STANDARD_FIELDS})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
