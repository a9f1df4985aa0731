"""Both servers, for real on a free port: `gunicorn` (with gunicorn.conf.py) and `flask run`;
and the README's walk-through, run as written."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# gunicorn reads gunicorn.conf.py from the folder it starts in, like a reader would.
CHAPTER = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
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


@contextlib.contextmanager
def serving(kind, tmp_path, database_url, seed=True):
    """Start a server of ``kind`` on a new database; yield its base URL and its log file."""
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "a-real-secret-of-some-length",
        "FLASK_DATABASE_URL": database_url,
    }
    # Tables and demo rows come from the CLI, once, before any worker starts.
    for command in (["init-db"], ["seed"]) if seed else (["init-db"],):
        subprocess.run([BIN / "flask", "--app", "blog", *command], env=env, check=True)
    port = free_port()
    commands = {
        "gunicorn": [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}"],
        "flask run": [BIN / "flask", "--app", "blog", "run", "--port", str(port)],
    }
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            commands[kind],
            cwd=CHAPTER,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    # A guard against a hang, not a speed test: a busy machine can take 20 s.
    deadline = time.monotonic() + 60
    while call(base + "/api/openapi.json")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"{kind} did not start:\n{log.read_text()}")
        time.sleep(0.1)
    try:
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["gunicorn", "flask run"])
def server(request, tmp_path, database_url):
    with serving(request.param, tmp_path, database_url) as (base, _):
        yield base


@pytest.mark.smoke
def test_server_serves_every_route(server):
    status, body = call(server + "/api/users")
    assert status == 200
    assert [u["username"] for u in json.loads(body)["items"]] == ["linus", "grace", "ada"]
    account = {"username": "mary", "email": "m@b.io", "password": "a long enough password"}
    status, body = call(server + "/api/users", "POST", account)
    assert status == 201
    user_id = json.loads(body)["id"]
    assert call(f"{server}/api/users/{user_id}")[0] == 200
    login = {"username": "mary", "password": account["password"]}
    token = json.loads(call(server + "/api/auth/login", "POST", login)[1])["token"]
    post = {"title": "T", "body": "B"}
    assert call(f"{server}/api/posts", "POST", post)[0] == 401
    bearer = {"Authorization": f"Bearer {token}"}
    assert call(f"{server}/api/posts", "POST", post, bearer)[0] == 201
    assert len(json.loads(call(f"{server}/api/users/{user_id}/posts")[1])["items"]) == 1
    status, body = call(server + "/api/users/999")
    assert status == 404
    assert json.loads(body)["error"] == "Not Found"
    # gunicorn.conf.py trusts no SCRIPT_NAME header: the links the app builds stay its own.
    status, body = call(server + "/api/users?limit=1", headers={"SCRIPT_NAME": "/elsewhere"})
    assert (status, json.loads(body)["next"]) == (200, f"/api/users?limit=1&after={user_id}")


def test_a_broken_chunked_body_is_a_400(tmp_path, database_url):
    # The server decodes the chunks while the app reads them, and raises an error
    # of its own for a malformed one: gunicorn's is no OSError, nor an HTTP error.
    for kind in ("gunicorn", "flask run"):
        with serving(kind, tmp_path, database_url, seed=False) as (base, log):
            host, port = base.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=10) as connection:
                connection.sendall(
                    b"POST /api/users HTTP/1.1\r\nHost: blog\r\nConnection: close\r\n"
                    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"zz\r\n{}\r\n0\r\n\r\n"
                )
                answer = connection.makefile("rb").read().decode()
            head, _, body = answer.partition("\r\n\r\n")
            assert head.startswith("HTTP/1.1 400"), (kind, answer)
            assert json.loads(body)["error"] == "Bad Request"
            assert "Traceback" not in log.read_text(), kind


def readme_block(heading, language):
    """The first ``language`` code block after ``heading`` in the chapter's README."""
    text = (CHAPTER / "README.md").read_text()
    section = text[text.index(f"\n{heading}\n") :]
    start = section.index(f"```{language}\n") + len(language) + 4
    return section[start : section.index("```", start)]


def without_times(output):
    """``output`` with every post's created_at replaced: the database's clock decides it."""
    return re.sub(r'"created_at":"[^"]+"', '"created_at":"..."', output)


def test_the_readme_walk_through_prints_what_it_says(tmp_path, database_url):
    with serving("flask run", tmp_path, database_url, seed=False) as (base, log):
        script = readme_block("## Walk-through", "bash").replace("http://127.0.0.1:5000", base)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert without_times(result.stdout) == without_times(
            readme_block("What it prints:", "text")
        )
        # The server logged every request, and not one password or token.
        requests = log.read_text()
        assert "POST /api/auth/login" in requests
        assert "frequency hopping" not in requests
        # A refusal quotes the hint "Authorization: Bearer <token>"; never a real token.
        assert not re.search(r"Bearer [A-Za-z0-9_-]{43}", requests)


@pytest.mark.parametrize(
    ("secret", "init_db", "problem"),
    [
        # Empty, so that no key in instance/config.py can stand in for it.
        ("", True, "- SECRET_KEY is not set to a string of at least 16 characters."),
        ("a-real-secret-of-some-length", False, "- The schema is at no revision,"),
    ],
    ids=["no secret", "schema behind"],
)
def test_gunicorn_refuses_once_and_without_a_traceback(database_url, secret, init_db, problem):
    env = {**os.environ, "FLASK_SECRET_KEY": secret, "FLASK_DATABASE_URL": database_url}
    if init_db:
        subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True)
    result = subprocess.run(
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=CHAPTER,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard: a busy machine is slow to start gunicorn
    )
    assert result.returncode == 1
    # gunicorn.conf.py checks in the master: no worker boots, so none prints a traceback.
    assert "Booting worker" not in result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines.count("Error: Refusing to start:") == 1
    problems = [line for line in lines if line.startswith("- ")]
    assert len(problems) == 1 and problems[0].startswith(problem), result.stderr
