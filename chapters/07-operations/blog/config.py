"""Default settings. Secrets and URLs come from the environment at run time."""

from __future__ import annotations

import os

from flask import Config, Flask
from sqlalchemy.engine import make_url


class Defaults:
    # None means "not configured": wsgi.py refuses to start without a real key.
    SECRET_KEY: str | None = None
    # None means "a SQLite file in the instance folder", for development only:
    # wsgi.py refuses to start on it.
    DATABASE_URL: str | None = None
    # Seconds a SQLite writer waits for a lock; after that the client gets a 503.
    SQLITE_TIMEOUT: float = 5.0
    # The most a request body may hold, checked when the body is read: a larger
    # one is refused with 413 and never read past the limit. The longest valid body
    # of any route, a post of 10,200 characters, takes 122,425 bytes when every
    # character is an emoji that the client escapes as JSON does (12 bytes each).
    MAX_CONTENT_LENGTH: int = 128 * 1024
    # DEBUG, INFO, WARNING, ...; "text" for people, "json" for a log collector.
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: str = "text"
    # How many proxies in front of the app set X-Forwarded-For and -Proto.
    # 0 trusts none, since without a proxy the client could send them.
    TRUSTED_PROXIES: int = 0
    # The origins of browser front-ends that may call the API from their pages,
    # e.g. ["https://app.example.com"]. None by default: browsers then refuse
    # every other site's script the answers.
    CORS_ORIGINS: list[str] = []
    # Logins and registrations: attempts per client address and per account
    # name, each counted in RATELIMIT_STORAGE_URI, shared by every worker.
    # "memory://" counts in each process alone: set redis://... in production.
    RATELIMIT_PER_CLIENT: str = "30 per minute"
    RATELIMIT_PER_ACCOUNT: str = "10 per minute"
    RATELIMIT_STORAGE_URI: str = "memory://"
    # Redis down: let attempts through (and log it) rather than refuse every login.
    RATELIMIT_SWALLOW_ERRORS: bool = True
    # Seconds a login token works, a year at most. Logging out ends it sooner.
    TOKEN_LIFETIME: int = 24 * 60 * 60


def load_instance_file(app: Flask) -> None:
    """Read instance/config.py, which may hold anything but secrets."""
    settings = Config(app.instance_path)
    if not settings.from_pyfile("config.py", silent=True):
        return
    secrets = [name for name in ("SECRET_KEY",) if settings.get(name)]
    url = settings.get("DATABASE_URL")
    if url and make_url(url).password:
        secrets.append("DATABASE_URL with a password")
    if secrets:
        raise RuntimeError(
            f"{os.path.join(app.instance_path, 'config.py')} sets {', '.join(secrets)}. "
            "Secrets come only from the environment: FLASK_SECRET_KEY, FLASK_DATABASE_URL."
        )
    app.config.update(settings)


def instance_database_url(app: Flask) -> str:
    """The development database: a SQLite file in the instance folder."""
    return f"sqlite:///{os.path.join(app.instance_path, 'blog.sqlite')}"
