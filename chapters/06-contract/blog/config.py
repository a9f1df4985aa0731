"""Default settings. Secrets and URLs come from the environment at run time."""


class Defaults:
    # None means "not configured": wsgi.py refuses to start without a real key.
    SECRET_KEY: str | None = None
    # None means "a SQLite file in the instance folder".
    DATABASE_URL: str | None = None
    # Seconds a SQLite writer waits for a lock; after that the client gets a 503.
    SQLITE_TIMEOUT: float = 5.0
    # The most a request body may hold, checked when the body is read: a larger
    # one is refused with 413 and never read past the limit. The longest valid body
    # of any route, a post of 10,200 characters, takes 122,425 bytes when every
    # character is an emoji that the client escapes as JSON does (12 bytes each).
    MAX_CONTENT_LENGTH: int = 128 * 1024
    # The origins of browser front-ends that may call the API from their pages,
    # e.g. ["https://app.example.com"]. None by default: browsers then refuse
    # every other site's script the answers.
    CORS_ORIGINS: list[str] = []
    # Seconds a login token works, a year at most. Logging out ends it sooner.
    TOKEN_LIFETIME: int = 24 * 60 * 60
