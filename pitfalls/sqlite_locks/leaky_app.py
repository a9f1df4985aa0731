"""A small app on chapter 03's session registry, with or without the teardown that closes sessions.

The views have a classic flaw: one way out of ``create_user`` skips the commit.
Whether that leaves a transaction open depends only on ``close_sessions``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, request
from sqlalchemy import create_engine, select

from blog.db import Session, close_session
from blog.models import User

bp = Blueprint("leaky", __name__)


@bp.get("/users")
def list_users() -> list[str]:
    # Reading starts a transaction too: the session keeps a connection until it ends.
    return list(Session.scalars(select(User.username).order_by(User.id)))


@bp.post("/users")
def create_user() -> tuple[dict, int]:
    data = request.get_json()
    user = User(username=data["username"], email=data["email"])
    Session.add(user)
    Session.flush()  # the INSERT runs now: this session holds SQLite's write lock
    if "@" not in user.email:
        abort(400, "Not an e-mail address.")  # leaves without commit or rollback
    Session.commit()
    return {"id": user.id}, 201


def create_app(
    url: str,
    *,
    close_sessions: bool,
    pool_size: int = 5,
    busy_timeout: float = 0.3,
    pool_timeout: float = 0.5,
) -> Flask:
    """The app, on an engine with short timeouts so a failure shows up fast."""
    app = Flask(__name__)
    app.testing = True  # exceptions reach the caller, which prints them
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout},  # seconds a writer waits for the lock
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,  # seconds a session waits for a free connection
    )
    Session.remove()
    Session.configure(bind=engine)
    if close_sessions:
        # Chapter 03's fix: Session.remove() after every request, error or not.
        app.teardown_appcontext(close_session)
    app.register_blueprint(bp)
    return app
