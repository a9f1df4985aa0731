"""The production entry point: ``gunicorn blog.wsgi:app``.

``python -m blog.wsgi`` runs the start check alone: silent with status 0 when a
server may start, else the problems and status 1 (gunicorn.conf.py runs it
once before any worker starts).
"""

import os
import stat
import sys

from flask import Flask
from sqlalchemy import URL
from sqlalchemy.exc import OperationalError

from blog import config, create_app, migrate
from blog.db import Session


def refuse_unsafe_start(app: Flask) -> None:
    """A real server starts here: what development tolerates is an error now."""
    problems = []
    if len(app.config["SECRET_KEY"]) < 16:
        problems.append(
            "SECRET_KEY is not set to a string of at least 16 characters. Export "
            "FLASK_SECRET_KEY, e.g. FLASK_SECRET_KEY="
            "$(python3 -c 'import secrets; print(secrets.token_hex(32))')."
        )
    if app.debug:
        problems.append("Debug mode is on. Unset FLASK_DEBUG.")
    if app.config["DATABASE_URL"] == config.instance_database_url(app):
        # In a regular install the instance folder is inside the virtualenv,
        # lost with it. Production names its database.
        problems.append(
            "DATABASE_URL is not set. Export FLASK_DATABASE_URL "
            "(e.g. postgresql+psycopg://... or sqlite:////srv/blog/blog.sqlite)."
        )
    else:
        try:
            with Session.get_bind().connect() as connection:
                current = migrate.current_revisions(connection)
        except OperationalError as error:  # no server, a wrong password, a missing folder
            problems.append(f"The database does not answer: {str(error.orig).strip()}")
        else:
            problem = migrate.schema_problem(current, migrate.head_revisions())
            if problem and os.environ.get("BLOG_SERVER_CHECKED"):
                # A worker gunicorn restarts on its own (one crashed or timed out) after
                # new code was copied in, before its migration: refusing would halt the
                # whole server. It serves; its /readyz answers 503 until the migration.
                app.logger.warning("Serving, but not ready: %s", problem)
            elif problem:
                problems.append(problem)
        problems.extend(readable_by_others(Session.get_bind().url))
    # Close the check's connection: with `gunicorn --preload` every worker is
    # forked from this process, and a pooled connection would be shared by all.
    Session.get_bind().dispose()
    if problems:
        raise RuntimeError("Refusing to start:\n- " + "\n- ".join(problems))


def readable_by_others(url: URL) -> list[str]:
    """The SQLite files (the database, its -wal and -shm) other users may open."""
    if not url.drivername.startswith("sqlite") or not url.database:
        return []
    found = []
    for path in (url.database, f"{url.database}-wal", f"{url.database}-shm"):
        if os.path.exists(path) and (mode := stat.S_IMODE(os.stat(path).st_mode)) & 0o077:
            found.append(f"{path} is open to other users (mode {mode:o}). Run chmod 600 {path}.")
    return found


def checked_app() -> Flask:
    try:
        app = create_app()
    except config.SettingsError as error:  # the settings' problems, without a traceback
        raise RuntimeError("Refusing to start:\n- " + "\n- ".join(error.problems)) from None
    refuse_unsafe_start(app)
    return app


if __name__ == "__main__":
    try:
        checked_app()
    except RuntimeError as refusal:
        sys.exit(str(refusal))  # the message alone, no traceback
else:
    app = checked_app()
