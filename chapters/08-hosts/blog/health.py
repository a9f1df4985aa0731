"""Probes for whatever runs the app: is the process up, can it serve?

Both are cheap (no auth; /readyz reads the schema's version in two small queries)
and answer JSON. Their request lines are logged at DEBUG (see logs.py): probes
come every few seconds.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from blog import migrate
from blog.db import Session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. A restart is the cure when it doesn't."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    """Readiness: the database answers and its schema is not older than this code."""
    if current_app.extensions["blog.shutting_down"]:  # set by gunicorn.conf.py on SIGTERM
        return {"status": "unavailable", "reason": "The server is shutting down."}, 503
    try:
        with Session.get_bind().connect() as connection:
            current = migrate.current_revisions(connection)
    except SQLAlchemyError:
        current_app.logger.exception("Readiness check: the database does not answer")
        return {"status": "unavailable", "reason": "The database does not answer."}, 503
    problem = migrate.schema_problem(current, current_app.extensions["blog.schema_head"])
    if problem:
        return {"status": "unavailable", "reason": problem}, 503
    return {"status": "ready"}, 200


def init_app(app: Flask) -> None:
    # The scripts don't change while the app runs: read the newest revision once.
    app.extensions["blog.schema_head"] = migrate.head_revisions()
    app.extensions["blog.shutting_down"] = False
    app.register_blueprint(bp)
