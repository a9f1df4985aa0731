"""The production entry point: ``gunicorn blog.wsgi:app``."""

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
            "SECRET_KEY is not set to a string of at least 16 characters. Export "
            "FLASK_SECRET_KEY before starting the server, e.g. FLASK_SECRET_KEY="
            "$(python3 -c 'import secrets; print(secrets.token_hex())')."
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
        raise RuntimeError(problem)


refuse_unsafe_start(app)
