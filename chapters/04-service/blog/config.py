"""Default settings. Secrets and URLs come from the environment at run time."""


class Defaults:
    # None means "not configured": wsgi.py refuses to start without a real key.
    SECRET_KEY: str | None = None
    # None means "a SQLite file in the instance folder".
    DATABASE_URL: str | None = None
    # Seconds a SQLite writer waits for a lock before "database is locked".
    SQLITE_TIMEOUT: float = 5.0
    # Bodies larger than this are refused with 413 and never read into memory.
    MAX_CONTENT_LENGTH: int = 64 * 1024
    # Seconds a login token works. Logging out ends it sooner.
    TOKEN_LIFETIME: int = 24 * 60 * 60
