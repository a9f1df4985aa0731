"""Serve a chapter on a new database, then run the schemathesis command of its README.

    python tools/fuzz_api.py chapters/06-contract [extra schemathesis options]

The README's "## Test it" section has one line that starts with
``SCHEMATHESIS_HOOKS=``: that line runs here as written. Only the address
changes: the README's 127.0.0.1:5000 becomes a free port, so nothing else in
use there is tested by mistake. It runs in a temporary folder that links to the
chapter's tests/, since schemathesis keeps a cache where it runs, and a cached
failure of an earlier run would be tried first.

The app runs on Flask's development server, as `flask run` starts it, on a new
SQLite file, with one change the test suite makes too (conftest.py): passwords
are hashed at a small scrypt cost. Every registration and login hashes one,
and at the real cost they would take most of the run's time, on code the
contract does not depend on.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
README_ADDRESS = "127.0.0.1:5000"
SERVE = """
import sys
from blog import auth, create_app
auth.PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
create_app().run(port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readme_command(chapter: Path) -> str:
    """The schemathesis line of the README's "## Test it" section."""
    text = (chapter / "README.md").read_text()
    section = text[text.index("\n## Test it\n") :]
    lines = [line for line in section.splitlines() if line.startswith("SCHEMATHESIS_HOOKS=")]
    if len(lines) != 1:
        raise SystemExit(f"{chapter}/README.md: expected one schemathesis line, found {lines}")
    return lines[0]


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
    command = readme_command(chapter)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "FLASK_SECRET_KEY": "schemathesis-only",
            "FLASK_DATABASE_URL": f"sqlite:///{tmp}/blog.sqlite",
        }
        subprocess.run(["flask", "--app", "blog", "init-db"], cwd=chapter, env=env, check=True)
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [sys.executable, "-c", SERVE, str(port)],
                cwd=chapter,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(f"http://127.0.0.1:{port}/api/openapi.json", server)
            command = command.replace(README_ADDRESS, f"127.0.0.1:{port}")
            command = " ".join([command, *map(shlex.quote, options)])
            print(f"$ {command}", flush=True)
            (Path(tmp) / "tests").symlink_to(chapter / "tests")
            status = subprocess.run(["bash", "-c", command], cwd=tmp, env=env).returncode
        finally:
            server.terminate()
            server.wait(timeout=10)
        if "Traceback" in log_path.read_text():
            print(log_path.read_text()[-5000:])
            status = status or 1
        return status


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]).resolve(), sys.argv[2:]))
