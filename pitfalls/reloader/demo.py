"""Demonstration: ``flask run --debug`` builds the app twice, so a seeding factory seeds twice.

First the naive factory (naive_app.py), then chapter 03 the way it is meant to
be used: a factory that writes nothing, and an idempotent ``flask seed``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from pitfalls.support import (
    CHAPTERS,
    REQUEST_LINE,
    DevServer,
    main,
    print_users,
    run,
    scratch,
    show,
    terminal,
)

HERE = Path(__file__).parent
NOTE = re.compile(r"^(create_app\(\)| \* )")  # our print, and werkzeug's " * " lines
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
        elif NOTE.match(line):
            shown.append(line)
    print("\n".join(shown))


def usernames(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT username FROM users ORDER BY id")]


def naive(*options: str) -> None:
    """Start the seeding factory under the dev server, make one request, read the table."""
    with scratch() as tmp:
        database = tmp / "blog.sqlite"
        env = terminal(HERE, "03", FLASK_DATABASE_URL=f"sqlite:///{database}")
        command = ["flask", "--app", "naive_app", "run", "--debug", *options]
        show(command)
        with DevServer(command[1:], cwd=HERE, env=env, log=tmp / "server.log") as server:
            server.wait_for(r"^ \* Running on")
            status, _ = server.request("GET", "/users")
            print_server_log(server.log())
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


if __name__ == "__main__":
    main(naive=naive, no_reload=lambda: naive("--no-reload"), chapter=chapter)
