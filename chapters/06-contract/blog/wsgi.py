"""The production entry point: ``gunicorn blog.wsgi:app``.

``python -m blog.wsgi`` runs the start check alone: silent with status 0 when a
server may start, else the problem and status 1 (gunicorn.conf.py runs it
once before any worker starts).
"""

import sys

from flask import Flask

from blog import create_app, migrate
from blog.db import Session

app = create_app()


def refuse_unsafe_start(app: Flask) -> None:
    """A real server starts here: a weak secret or an old schema is an error now."""
    # FLASK_SECRET_KEY=1 or =true would arrive as a number or a boolean.
    key = app.config["SECRET_KEY"]
    if not isinstance(key, str) or len(key) < 16:
        raise RuntimeError(
            "Refusing to start: SECRET_KEY is not set to a string of at least 16 "
            "characters. Export FLASK_SECRET_KEY before starting the server, e.g. "
            "FLASK_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex())')."
        )
    # Code newer than its schema fails on the first query that needs a new
    # column: refuse to start instead, and say which command fixes it.
    engine = Session.get_bind()
    with engine.connect() as connection:
        current = migrate.current_revisions(connection)
    # With `gunicorn --preload` workers are forked from this process: close the
    # check's connection so that no two of them share it.
    engine.dispose()
    if problem := migrate.schema_problem(current, migrate.head_revisions()):
        raise RuntimeError(f"Refusing to start: {problem}")


if __name__ == "__main__":
    try:
        refuse_unsafe_start(app)
    except RuntimeError as refusal:
        sys.exit(str(refusal))  # the message alone, no traceback
else:
    refuse_unsafe_start(app)
