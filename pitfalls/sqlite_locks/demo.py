"""Demonstration: a session left open holds SQLite's write lock and a pool connection.

Two "workers" stand for two server threads (or processes) that live across
requests, as gunicorn's workers do. Each has its own thread, so each has its
own session in chapter 03's ``scoped_session`` registry.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from leaky_app import create_app
from sqlalchemy import select

from blog.db import Base, Session, configure
from blog.models import User
from pitfalls.support import main, scratch

GOOD = {"username": "grace", "email": "grace@example.com"}
BAD = {"username": "ada", "email": "ada-at-example.com"}


class Worker:
    """One long-lived thread that handles requests one after the other."""

    def __init__(self, name: str, client) -> None:
        self.name = name
        self.client = client
        self.thread = ThreadPoolExecutor(max_workers=1)

    def call(self, method: str, path: str, body: dict | None = None) -> None:
        """Send a request from this worker's thread and print the outcome."""
        send = getattr(self.client, method.lower())
        shown = f"worker {self.name}  {method} {path}"
        try:
            response = self.thread.submit(send, path, json=body).result()
        except Exception as error:  # printed, as a server would log it
            print(f"{shown} -> {describe(error)}")
        else:
            answer = response.get_json(silent=True)
            print(f"{shown} -> {response.status_code}", *([] if answer is None else [answer]))

    def in_transaction(self) -> bool:
        return self.thread.submit(lambda: Session().in_transaction()).result()


def describe(error: BaseException) -> str:
    """The last line of a traceback: the exception's type and its first line."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}: {str(error).splitlines()[0]}"


def two_workers(tmp: Path, *, close_sessions: bool, **options: float) -> tuple[Worker, Worker]:
    app = create_app(f"sqlite:///{tmp / 'blog.sqlite'}", close_sessions=close_sessions, **options)
    Base.metadata.create_all(Session.get_bind())
    client = app.test_client()
    return Worker("A", client), Worker("B", client)


def locks(close_sessions: bool) -> None:
    print(f"busy timeout 0.3 s; close_sessions={close_sessions}")
    with scratch() as tmp:
        a, b = two_workers(tmp, close_sessions=close_sessions)
        a.call("POST", "/users", BAD)
        print(f"worker A's session still in a transaction: {a.in_transaction()}")
        b.call("POST", "/users", GOOD)
        a.call("GET", "/users")
        b.call("GET", "/users")


def endings() -> None:
    """Chapter 03's Session writes a row and then ends (or not); another connection writes."""
    endings: dict[str, Callable[[], None]] = {
        "(nothing)": lambda: None,
        "Session.commit()": Session.commit,
        "Session.rollback()": Session.rollback,
        "Session.remove()": Session.remove,
    }
    print(f"{'Session writes, then':22} another connection writes (timeout 0.3 s)")
    for name, end in endings.items():
        with scratch() as tmp:
            database = tmp / "blog.sqlite"
            configure(f"sqlite:///{database}", sqlite_timeout=0.3)
            Base.metadata.create_all(Session.get_bind())
            Session.add(User(username="ada", email="ada@example.com"))
            Session.flush()
            end()
            other = sqlite3.connect(database, timeout=0.3)
            try:
                with other:
                    other.execute("INSERT INTO users (username, email) VALUES ('grace', 'g@x.org')")
                outcome = "ok"
            except sqlite3.OperationalError as error:
                outcome = describe(error)
            finally:
                other.close()
            print(f"{name:22} {outcome}")
            Session.remove()
            Session.get_bind().dispose()


def busy_timeout() -> None:
    """Another connection holds the write lock for 0.2 s; chapter 03's Session commits meanwhile."""
    for timeout in (0.0, 5.0):
        with scratch() as tmp:
            database = tmp / "blog.sqlite"
            configure(f"sqlite:///{database}", sqlite_timeout=timeout)
            Base.metadata.create_all(Session.get_bind())
            writing = threading.Event()
            holder = threading.Thread(target=hold_write_lock, args=(database, writing, 0.2))
            holder.start()
            writing.wait()
            try:
                Session.add(User(username="grace", email="grace@example.com"))
                Session.commit()
                outcome = "ok"
            except Exception as error:
                Session.rollback()
                outcome = describe(error)
            holder.join()
            users = Session.scalars(select(User.username).order_by(User.id)).all()
            print(f"configure(url, sqlite_timeout={timeout}): commit -> {outcome}")
            print(f"    users now: {users}")
            Session.remove()
            Session.get_bind().dispose()


def hold_write_lock(database: Path, writing: threading.Event, seconds: float) -> None:
    with sqlite3.connect(database) as other:
        other.execute("INSERT INTO users (username, email) VALUES ('ada', 'ada@example.com')")
        writing.set()
        time.sleep(seconds)
    # leaving the with block commits: the lock is free


if __name__ == "__main__":
    main(
        naive=lambda: locks(close_sessions=False),
        chapter=lambda: locks(close_sessions=True),
        endings=endings,
        busy_timeout=busy_timeout,
    )
