"""Demonstration: two clients that send half a request hold both of gunicorn's sync workers.

Chapter 07 under gunicorn with its shipped ``gunicorn.conf.py`` (two sync
workers), once with gunicorn's default worker timeout of 30 s and once with the
file's 10 s. Two connections each send the first lines of a request and then
wait; a request that normally takes milliseconds is timed while they wait.
"""

from __future__ import annotations

import socket
import time

from pitfalls.support import CHAPTERS, DevServer, main, run, scratch, show, terminal
from tools.servers import http

HALF_A_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"  # no blank line: not finished


def timed_get(url: str) -> str:
    start = time.monotonic()
    status, _ = http(url, timeout=120)
    return f"GET /healthz -> {status}, answered in {time.monotonic() - start:.1f} s"


def slow_clients(timeout: list[str]) -> None:
    chapter = CHAPTERS["07"]
    with scratch() as tmp:
        env = terminal(
            chapter,
            FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}",
            FLASK_SECRET_KEY="a-real-secret-of-some-length",
        )
        run(["flask", "--app", "blog", "init-db"], cwd=chapter, env=env)
        # The server object picks the free port that the --bind option then names.
        server = DevServer([], cwd=chapter, env=env, log=tmp / "gunicorn.log", program="gunicorn")
        options = ["--bind", f"127.0.0.1:{server.port}", *timeout]
        server.args += options
        show(["gunicorn", *options])
        with server:
            server.wait_for(r"Booting worker", count=2)
            for _ in range(2):  # the first request may wait for a worker to import the app
                print(timed_get(server.url + "/healthz"))
            print("2 clients each send half a request, then wait")
            slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
            for connection in slow:
                connection.sendall(HALF_A_REQUEST)
            time.sleep(0.5)  # each worker has taken one connection and waits for the rest
            print(timed_get(server.url + "/healthz"))
            for connection in slow:
                connection.close()
            killed = "WORKER TIMEOUT" in server.log()
            print(f"gunicorn's log says WORKER TIMEOUT: {'yes' if killed else 'no'}")


if __name__ == "__main__":
    main(
        default=lambda: slow_clients(["--timeout", "30"]),
        shipped=lambda: slow_clients([]),
    )
