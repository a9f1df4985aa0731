"""Every setting in one typed class, checked once, when the app is built."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any, Literal

from flask import Config, Flask
from limits import parse_many
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The longest a token may work: a leaked one must stop working some day, and a
# lifetime of millennia would be an expiry date no datetime can hold.
MAX_TOKEN_LIFETIME = 365 * 24 * 60 * 60
# Shown by name only in a refusal, never by value.
SECRETS = {"SECRET_KEY", "DATABASE_URL"}


def no_bool(value: Any) -> Any:
    # pydantic would take True for 1: a yes where a count belongs is a mistake.
    if isinstance(value, bool):
        raise ValueError("Input should be a whole number, not true or false")
    return value


def database_url(value: str) -> str:
    try:
        make_url(value)
    except ArgumentError:
        raise ValueError("Input should be a URL such as sqlite:////srv/blog.sqlite") from None
    return value


def log_level(value: int | str) -> int | str:
    if isinstance(value, str) and value.upper() not in logging.getLevelNamesMapping():
        raise ValueError("Input should be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return value


def rate(value: str) -> str:
    try:
        parse_many(value)  # what Flask-Limiter reads
    except ValueError:
        raise ValueError("Input should be like '30 per minute' or '5/second; 100/day'") from None
    return value


Count = Annotated[int, BeforeValidator(no_bool)]
Rate = Annotated[str, AfterValidator(rate)]
# 30 from FLASK_LOG_LEVEL=30 is a number, INFO a name.
Level = Annotated[Count | str, Field(union_mode="left_to_right"), AfterValidator(log_level)]


class Settings(BaseModel):
    """The settings, their types and their defaults. FLASK_<NAME> sets <NAME>."""

    # The key of the token digests (blog/auth.py): changing it logs everyone
    # out. wsgi.py refuses to start on this development key.
    SECRET_KEY: str = "dev"
    # None means "a SQLite file in the instance folder", for development only:
    # wsgi.py refuses to start on it.
    DATABASE_URL: Annotated[str, AfterValidator(database_url)] | None = None
    # Seconds a SQLite writer waits for a lock; after that the client gets a 503.
    SQLITE_TIMEOUT: float = Field(5.0, gt=0)
    # PostgreSQL connections each process keeps (SQLite ignores these three).
    # Every host's every worker may open POOL_SIZE + POOL_MAX_OVERFLOW: the
    # sum must fit in the server's max_connections (`flask db-budget` adds it
    # up). A sync worker serves one request at a time, which needs one
    # connection: 2 leaves one spare. gunicorn threads need one each.
    POOL_SIZE: Count = Field(2, gt=0)
    POOL_MAX_OVERFLOW: Count = Field(0, ge=0)
    # Seconds a request waits for a free connection of its process before it
    # gets a 503. SQLAlchemy's default, 30 s, is longer than gunicorn lets a
    # request take (timeout = 10 in gunicorn.conf.py): no answer, a killed worker.
    POOL_TIMEOUT: float = Field(2.0, gt=0)
    # The most a request body may hold, checked when the body is read: a larger
    # one is refused with 413 and never read past the limit. The longest valid body
    # of any route, a post of 10,200 characters, takes 122,425 bytes when every
    # character is an emoji that the client escapes as JSON does (12 bytes each).
    MAX_CONTENT_LENGTH: Count = Field(128 * 1024, gt=0)
    # A name or a number; "text" for people, "json" for a log collector.
    LOG_LEVEL: Level = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    # How many proxies in front of the app set X-Forwarded-For and -Proto.
    # 0 trusts none, since without a proxy the client could send them.
    TRUSTED_PROXIES: Count = Field(0, ge=0)
    # The origins of browser front-ends that may call the API from their pages,
    # e.g. ["https://app.example.com"]. None by default: browsers then refuse
    # every other site's script the answers.
    CORS_ORIGINS: list[str] = []
    # Logins and registrations: attempts per client address and per account
    # name, each counted in RATELIMIT_STORAGE_URI, shared by every worker.
    # "memory://" counts in each process alone: set redis://... in production.
    RATELIMIT_PER_CLIENT: Rate = "30 per minute"
    RATELIMIT_PER_ACCOUNT: Rate = "10 per minute"
    RATELIMIT_STORAGE_URI: str = "memory://"
    # Put before every counter's name, so that apps sharing one Redis never
    # count each other's attempts.
    RATELIMIT_KEY_PREFIX: str = "blog"
    # Redis down: let attempts through (and log it) rather than refuse every login.
    RATELIMIT_SWALLOW_ERRORS: bool = True
    # Seconds a login token works, a year at most. Logging out ends it sooner.
    TOKEN_LIFETIME: Count = Field(24 * 60 * 60, gt=0, le=MAX_TOKEN_LIFETIME)
    # Seconds a password-reset token works, counted from the request: the mail
    # may sit in an inbox that others read later.
    RESET_TOKEN_LIFETIME: Count = Field(60 * 60, gt=0, le=24 * 60 * 60)
    # The job queue (blog/jobs.py): the Redis the rate limits use, so no new
    # server; BROKER_KEY_PREFIX keeps its keys apart from the counters and
    # from other apps' queues on the same Redis.
    BROKER_URL: str = "redis://127.0.0.1:6379/0"
    BROKER_KEY_PREFIX: str = "blog:"
    # Seconds before a job whose worker died (SIGKILL, a lost host) goes to
    # another worker. A job still running after this long runs a second time.
    VISIBILITY_TIMEOUT: Count = Field(60 * 60, gt=0)
    # Seconds between two runs of the cleanup of expired tokens (celery beat).
    CLEANUP_INTERVAL: float = Field(60 * 60, gt=0)
    # Seconds after which a reset request still unsent is queued again (celery
    # beat checks this often): its job may never have reached a worker.
    RESEND_INTERVAL: float = Field(60, gt=0)
    # The SMTP server the mail goes through, and the sender's address. The
    # timeout bounds how long a job waits for a server that stopped answering.
    MAIL_SERVER: str = "localhost"
    MAIL_PORT: Count = Field(25, gt=0, lt=65536)
    MAIL_FROM: str = "blog@localhost"
    MAIL_TIMEOUT: float = Field(10.0, gt=0)


class FromEnvironment(BaseSettings, Settings):
    """The same settings, read from FLASK_* variables over instance/config.py's."""

    # Strings only from the process's environment: never from .env, which the
    # flask command loads for development and gunicorn never reads.
    model_config = SettingsConfigDict(env_prefix="FLASK_", case_sensitive=True, extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **others):
        return env_settings, init_settings  # the environment wins over the instance file


class SettingsError(ValueError):
    """Settings that fail their checks: one line per problem."""

    def __init__(self, error: ValidationError) -> None:
        self.problems = []
        for failed in error.errors():
            name = str(failed["loc"][0])
            value = "" if name in SECRETS else f", not {failed['input']!r}"
            message = failed["msg"].removeprefix("Value error, ")
            self.problems.append(f"{name} (FLASK_{name}): {message}{value}.")
        super().__init__("Settings that fail their checks:\n- " + "\n- ".join(self.problems))


def load(app: Flask, test_config: dict[str, Any] | None) -> dict[str, Any]:
    """The app's settings, checked: test_config alone, or the instance file and FLASK_*."""
    given = load_instance_file(app) if test_config is None else test_config
    known = {name: value for name, value in given.items() if name in Settings.model_fields}
    try:
        settings = Settings(**known) if test_config is not None else FromEnvironment(**known)
    except ValidationError as error:
        raise SettingsError(error) from None
    return {**given, **settings.model_dump()}


def load_instance_file(app: Flask) -> dict[str, Any]:
    """Read instance/config.py, which may hold anything but secrets."""
    settings = Config(app.instance_path)
    if not settings.from_pyfile("config.py", silent=True):
        return {}
    secrets = [name for name in ("SECRET_KEY",) if settings.get(name)]
    url = settings.get("DATABASE_URL")
    if url and make_url(url).password:
        secrets.append("DATABASE_URL with a password")
    if secrets:
        raise RuntimeError(
            f"{os.path.join(app.instance_path, 'config.py')} sets {', '.join(secrets)}. "
            "Secrets come only from the environment: FLASK_SECRET_KEY, FLASK_DATABASE_URL."
        )
    return dict(settings)


def instance_database_url(app: Flask) -> str:
    """The development database: a SQLite file in the instance folder."""
    return f"sqlite:///{os.path.join(app.instance_path, 'blog.sqlite')}"
