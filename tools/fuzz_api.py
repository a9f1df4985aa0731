"""Fuzz a chapter's running API against its own OpenAPI document with schemathesis.

    python tools/fuzz_api.py chapters/05-service [extra schemathesis options]

Starts the chapter under gunicorn (its gunicorn.conf.py) on a new SQLite file,
registers an account and logs in, then runs ``schemathesis run`` with that
token, so the write routes are reached and not only their 401. Logging out
and deleting the account would end the token, so they run last, on their own.
Prints how often each route answered each status, and fails unless schemathesis
passed and the token-taking writes succeeded at least once.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

BIN = Path(sys.executable).parent
# What the contract says: no 5xx, and every status, header, content type and
# body as documented. Valid-looking data the app refuses anyway (a title with a
# right-to-left override, say) is a 400 by design, so positive_data_acceptance
# is left out.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
ENDS_THE_TOKEN = ("logout", "logoutEverywhere", "deleteUser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    # A server that exits fails at once; the deadline only stops a hang. On a
    # busy machine (load 10 on 2 cores) gunicorn once took more than 30 s to answer.
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError) as error:
            if process.poll() is not None or time.monotonic() > deadline:
                message = f"The server did not start (exit code {process.poll()})."
                raise SystemExit(message) from error
            time.sleep(0.2)


def main(chapter: Path, options: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "FLASK_SECRET_KEY": "schemathesis-only",
            "FLASK_DATABASE_URL": f"sqlite:///{tmp}/blog.sqlite",
        }
        subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True)
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}"],
                cwd=chapter,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}/api"
            wait_for(f"{base}/openapi.json", server)
            with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as response:
                documented = operations(json.load(response))
            account = {"username": "fuzz", "email": "fuzz@example.com", "password": "p" * 20}
            post(f"{base}/users", account)
            login = {"username": account["username"], "password": account["password"]}
            token = post(f"{base}/auth/login", login)["token"]
            # Something for the id-taking routes to find.
            post(f"{base}/posts", {"title": "A post", "body": "To read and edit."}, token)
            command = [
                BIN / "schemathesis",
                "run",
                f"{base}/openapi.json",
                "--checks",
                CHECKS,
                "--seed",
                "4",
                "--max-examples",
                "50",
                *options,
            ]
            runs = [
                # Everything but the two routes that end the token; stateful
                # phase included: it follows the links from a new post to it.
                [*command, *(f"--exclude-operation-id={op}" for op in ENDS_THE_TOKEN)],
                # Then each of those with a token of its own, since the first
                # success ends it. Their links lead elsewhere: no stateful phase.
                *(
                    [*command, f"--include-operation-id={op}", "--phases=examples,coverage,fuzzing"]
                    for op in ENDS_THE_TOKEN
                ),
            ]
            status = 0
            for run in runs:
                token = post(f"{base}/auth/login", login)["token"]
                # In the temporary folder: schemathesis keeps a cache where it runs.
                header = f"--header=Authorization: Bearer {token}"
                status = status or subprocess.run([*run, header], cwd=tmp).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)
        reached = answered(log_path.read_text())
        for (method, path), codes in sorted(reached.items()):
            if (method, path) not in documented:
                continue  # schemathesis also tries other methods and paths: 404s and 405s
            print(f"{method:6} {path:28} " + " ".join(f"{c}x{n}" for c, n in sorted(codes.items())))
        # A run where every write got 401 would prove little: the token must have worked.
        for write in [
            ("POST", "/api/posts"),
            ("PATCH", "/api/posts/{id}"),
            ("POST", "/api/auth/logout"),
        ]:
            if not any(code < 300 for code in reached.get(write, {})):
                print(f"{' '.join(write)} never succeeded: the token was not used.")
                status = status or 1
        if status:
            print(log_path.read_text()[-5000:])
        return status


def operations(document: dict) -> set[tuple[str, str]]:
    """(method, path with ids as {id}) of every operation in an OpenAPI document."""
    prefix = document["servers"][0]["url"]
    return {
        (method.upper(), prefix + re.sub(r"\{\w+\}", "{id}", path))
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }


def answered(log: str) -> dict[tuple[str, str], Counter]:
    """(method, path with ids as {id}) -> Counter of statuses, from the app's request log."""
    reached: dict[tuple[str, str], Counter] = {}
    for method, path, code in re.findall(r"\] ([A-Z]+) (/\S*) (\d{3}) [\d.]+ms", log):
        key = (method, re.sub(r"/\d+", "/{id}", path))
        reached.setdefault(key, Counter())[int(code)] += 1
    return reached


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).resolve(), sys.argv[2:]))
