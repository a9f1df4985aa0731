"""Demonstration: start the app, write a row, stop it; four times. Which rows survive?

The naive factory drops and recreates the tables at start-up. Chapter 03 runs
``flask init-db`` before each start instead (as a deploy script would): it
creates missing tables and leaves existing ones alone.
"""

from __future__ import annotations

from pathlib import Path

from pitfalls.support import CHAPTERS, DevServer, main, print_users, run, scratch, show, terminal

HERE = Path(__file__).parent
STARTS = 4


def restarts(app: str, cwd: Path, chapter: str | None, init_db: bool) -> None:
    with scratch() as tmp:
        env = terminal(cwd, chapter, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        for start in range(1, STARTS + 1):
            print(f"# start {start}")
            if init_db:
                run(["flask", "--app", app, "init-db"], cwd=cwd, env=env)
            command = ["flask", "--app", app, "run"]
            show(command)
            with DevServer(command[1:], cwd=cwd, env=env, log=tmp / "server.log") as server:
                server.wait_for(r"^ \* Running on")
                user = {"username": f"user{start}", "email": f"user{start}@example.com"}
                status, _ = server.request("POST", "/users", user)
                print(f"POST /users {user['username']} -> {status}")
                print_users(*server.request("GET", "/users"))
            print("(server stopped)")


if __name__ == "__main__":
    main(
        naive=lambda: restarts("naive_app", HERE, "03", init_db=False),
        chapter=lambda: restarts("blog", CHAPTERS["03"], None, init_db=True),
    )
