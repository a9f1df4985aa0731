"""Demonstration: sessions never removed run the connection pool dry, under the dev server.

``flask run`` serves each request on a new thread. A thread's session is never
removed, so when the thread ends its session still holds a pool connection,
until Python's garbage collector happens to free it. The engine keeps the
default pool: 5 connections, 10 more on overflow, 30 s of waiting for one.
The load is the same for chapter 03, which removes the session after each request.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pitfalls.support import (
    CHAPTERS,
    DEADLINE,
    DevServer,
    environment,
    main,
    run,
    scratch,
    show,
    terminal,
)

HERE = Path(__file__).parent
ROUNDS, AT_ONCE = 2, 30  # 60 requests, 30 at a time
PATH = "/users/1"  # Session.get(User, 1): one query through the session
ERROR = re.compile(r"^sqlalchemy\.exc\.\w+: .*$", re.MULTILINE)  # a traceback's last line


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE + 60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def dev_server(app: str, cwd: Path, chapter: str | None) -> None:
    with scratch() as tmp:
        env = terminal(cwd, chapter, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        run(["flask", "--app", "blog", "init-db"], cwd=cwd, env=env)
        run(["flask", "--app", "blog", "seed"], cwd=cwd, env=env)
        command = ["flask", "--app", app, "run"]
        show(command)
        with DevServer(command[1:], cwd=cwd, env=env, log=tmp / "server.log") as server:
            server.wait_for(r"^ \* Running on")
            print(f"{ROUNDS} rounds of {AT_ONCE} requests at once: GET {PATH}")
            statuses: Counter[int] = Counter()
            with ThreadPoolExecutor(AT_ONCE) as clients:
                for _ in range(ROUNDS):
                    statuses.update(clients.map(get, [server.url + PATH] * AT_ONCE))
            failed = sum(n for status, n in statuses.items() if status != 200)
            print(f"{failed} of {statuses.total()} requests failed")
            errors = sorted(set(ERROR.findall(server.log())))
            print("errors in the server log:", *errors or ["none"], sep="\n  ")


def long_lived_threads() -> None:
    """The same app in-process, served by 8 threads that live across requests."""
    import no_remove_app  # noqa: F401  (chapter 03 on the path; breaks Session.remove)

    from blog import create_app
    from blog.db import Session

    threads, per_thread = 8, 25
    with scratch() as tmp:
        url = f"sqlite:///{tmp / 'blog.sqlite'}"
        env = environment("03", FLASK_DATABASE_URL=url)
        run(["flask", "--app", "blog", "init-db"], cwd=tmp, env=env, echo=False)
        run(["flask", "--app", "blog", "seed"], cwd=tmp, env=env, echo=False)
        client = create_app({"DATABASE_URL": url}).test_client()
        print(f"{threads} long-lived threads, {per_thread} requests each: GET {PATH}")
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        # The threads stay alive until the pool is counted: a thread that ended
        # drops its session, and the garbage collector may hand its connection back.
        served = threading.Barrier(threads + 1, timeout=DEADLINE)
        counted = threading.Event()

        def serve() -> None:
            for _ in range(per_thread):
                status = client.get(PATH).status_code
                with lock:
                    statuses[status] += 1
            served.wait()
            counted.wait(timeout=DEADLINE)

        workers = [threading.Thread(target=serve) for _ in range(threads)]
        for worker in workers:
            worker.start()
        served.wait()
        failed = sum(n for status, n in statuses.items() if status != 200)
        print(f"{failed} of {statuses.total()} requests failed")
        engine = Session.get_bind()
        print(f"pool connections still checked out: {engine.pool.checkedout()}")
        counted.set()
        for worker in workers:
            worker.join()


if __name__ == "__main__":
    main(
        naive=lambda: dev_server("no_remove_app", HERE, "03"),
        chapter=lambda: dev_server("blog", CHAPTERS["03"], None),
        threads=long_lived_threads,
    )
