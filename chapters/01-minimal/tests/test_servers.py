"""Both ways to start the app, for real: `flask --app ... run` and `python hello.py`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent.parent
FLASK = Path(sys.executable).parent / "flask"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()
    except OSError:  # not listening yet
        return None, b""


@pytest.fixture
def flask_run(tmp_path):
    """Start `flask --app <module> run` on a free port; yield its base URL."""
    processes = []
    env = {**os.environ, "FLASK_DATABASE": str(tmp_path / "blog.sqlite")}

    def start(module: str) -> str:
        port = free_port()
        log = (tmp_path / f"{module}.log").open("w")
        processes.append(
            subprocess.Popen(
                [FLASK, "--app", module, "run", "--port", str(port)],
                cwd=HERE,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while call(base + "/")[0] is None:
            if processes[-1].poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / f"{module}.log").read_text())
            time.sleep(0.1)
        return base

    subprocess.run([FLASK, "--app", "app", "init-db"], cwd=HERE, env=env, check=True)
    assert (tmp_path / "blog.sqlite").exists()  # FLASK_DATABASE chose the file
    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_flask_run_serves_hello(flask_run):
    assert call(flask_run("hello") + "/") == (200, b"Hello, World!")


@pytest.mark.smoke
def test_flask_run_serves_the_api(flask_run):
    base = flask_run("app")
    assert call(base + "/")[0] == 200
    status, body = call(base + "/users", {"username": "ada", "email": "ada@example.com"})
    assert status == 201
    user = json.loads(body)
    assert json.loads(call(base + "/users")[1]) == [user]
    assert call(f"{base}/users/{user['id']}/posts", {"title": "T", "body": "B"})[0] == 201
    assert len(json.loads(call(f"{base}/users/{user['id']}/posts")[1])) == 1
    assert call(base + "/users/99")[0] == 404


def test_python_hello_py_calls_app_run():
    """`python hello.py` reaches app.run(); importing the module (as flask run does) does not."""
    code = (
        "import runpy, flask\n"
        "flask.Flask.run = lambda self, *a, **k: print('app.run called')\n"
        "import hello\n"
        "print('imported')\n"
        "runpy.run_path('hello.py', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=HERE, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["imported", "app.run called"]
