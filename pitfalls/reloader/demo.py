"""Demonstration: ``flask run --debug`` builds the app twice, so a seeding factory seeds twice.

First the reloader's two processes and their roles (roles_app.py), then the
naive factory (naive_app.py), the same with a transaction it never ends
(locking_app.py), and chapter 03 the way it is meant to be used: a factory
that writes nothing, and an idempotent ``flask seed``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pitfalls.support import (
    CHAPTERS,
    REQUEST_LINE,
    DevServer,
    environment,
    main,
    print_users,
    run,
    scratch,
    show,
    terminal,
)

HERE = Path(__file__).parent
NOTE = re.compile(r"^(create_app\(\)|pid \d+ | \* )")  # our prints, and werkzeug's " * " lines
DRIVER_ERROR = re.compile(r"^\(sqlite3\.\w+\) ")  # the driver's error inside SQLAlchemy's
ERROR = re.compile(r"^[\w.]+(Error|Exception): ")  # the last line of a traceback


def print_server_log(log: str) -> None:
    """The start-up part of the log, without noise; a traceback keeps only its last line."""
    shown: list[str] = []
    for line in log.splitlines():
        if REQUEST_LINE.search(line):
            break  # what follows a request is logged while the demo reads: it varies
        if ERROR.match(line):
            if shown and ERROR.match(shown[-1]):
                shown.pop()  # a chained traceback: the last exception is the one raised
            else:
                shown.append("Traceback (most recent call last):\n  ...")
            shown.append(line)
        elif NOTE.match(line) or DRIVER_ERROR.match(line):
            shown.append(line)
    print("\n".join(shown))


def usernames(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT username FROM users ORDER BY id")]


@contextmanager
def seeding_server(tmp: Path, module: str, *options: str) -> Iterator[tuple[Path, int | None]]:
    """Start ``module``'s seeding factory under the dev server and make one request."""
    database = tmp / "blog.sqlite"
    env = terminal(HERE, "03", FLASK_DATABASE_URL=f"sqlite:///{database}")
    command = ["flask", "--app", module, "run", "--debug", *options]
    show(command)
    with DevServer(command[1:], cwd=HERE, env=env, log=tmp / "server.log") as server:
        server.wait_for(r"^ \* Running on")
        status, _ = server.request("GET", "/users")
        print_server_log(server.log())
        yield database, status


def naive(*options: str) -> None:
    """Start the seeding factory under the dev server, make one request, read the table."""
    with scratch() as tmp:
        with seeding_server(tmp, "naive_app", *options) as (database, status):
            pass
        print(f"GET /users -> {status}")
        print(f"users in the database: {', '.join(usernames(database))}")


def chapter() -> None:
    """Chapter 03 under the same dev server: the factory writes nothing; seed runs twice."""
    with scratch() as tmp:
        cwd = CHAPTERS["03"]
        env = terminal(cwd, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        run(["flask", "--app", "blog", "init-db"], cwd=cwd, env=env)
        command = ["flask", "--app", "blog", "run", "--debug"]
        show(command)
        with DevServer(command[1:], cwd=cwd, env=env, log=tmp / "server.log") as server:
            server.wait_for(r"^ \* Running on")
            before = server.request("GET", "/users")  # answered once the server is up
            print_server_log(server.log())
            print_users(*before)
            run(["flask", "--app", "blog", "seed"], cwd=cwd, env=env)
            run(["flask", "--app", "blog", "seed"], cwd=cwd, env=env)
            print_users(*server.request("GET", "/users"))


def roles() -> None:
    """Which process builds the app, which one serves, and what happens when a file changes."""
    with scratch() as tmp:
        for name in ("roles_app.py", "flask_showing_exits.py"):
            shutil.copy(HERE / name, tmp)
        show(["cd", str(tmp)])
        env = environment()
        command = ["python", "flask_showing_exits.py", "--app", "roles_app", "run", "--debug"]
        show(command)
        args = [sys.executable, *command[1:]]
        with DevServer(args, cwd=tmp, env=env, log=tmp / "server.log", program=None) as server:
            server.wait_for(r"^create_app\(\)", count=2)
            print_roles(server.log())
            _, answer = server.request("GET", "/")
            print(f"GET / -> answered by pid {answer['pid']}")
            # A later modification time than the one the reloader saw: a saved edit.
            source = tmp / "roles_app.py"
            mtime = source.stat().st_mtime + 10
            os.utime(source, (mtime, mtime))
            show(["touch", "roles_app.py"])
            before = server.log()
            server.wait_for(r"^create_app\(\)", count=3)
            print_roles(server.log()[len(before) :])
            server.requests = len(REQUEST_LINE.findall(server.log()))
            _, answer = server.request("GET", "/")
            print(f"GET / -> answered by pid {answer['pid']}")


def print_roles(log: str) -> None:
    """Our own prints and werkzeug's start-up lines, in the order they were logged."""
    lines = log.splitlines()
    wanted = re.compile(r"^(create_app\(\)|pid \d+: | \* (?!Debugger))")
    print("\n".join(line for line in lines if wanted.match(line)))


def locked() -> None:
    """The seeding factory whose transaction stays open: the reloader's child waits, then fails."""
    with scratch() as tmp:
        with seeding_server(tmp, "locking_app") as (database, status):
            print(f"GET /users -> {status}")
            print("while the server runs, another program writes (it waits up to 1 s):")
            try:
                with sqlite3.connect(database, timeout=1) as other:
                    other.execute("INSERT INTO users (username, email) VALUES ('x', 'x@x.org')")
                print("  ok")
            except sqlite3.OperationalError as error:
                print(f"  sqlite3.OperationalError: {error}")
        print("(server stopped)")
        print(f"users in the database: {', '.join(usernames(database)) or 'none'}")


if __name__ == "__main__":
    main(
        roles=roles,
        naive=naive,
        no_reload=lambda: naive("--no-reload"),
        locked=locked,
        chapter=chapter,
    )
