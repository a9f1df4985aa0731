"""Logins and registrations: limited per client and per account, across workers, failing open."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from blog import create_app, migrate
from blog.db import Session

# A Redis server for the counters; the suite fails, not skips, when none answers.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Counters of this run alone: other runs of these tests may share the server.
KEY_PREFIX = f"test-{uuid.uuid4().hex}"
BIN = Path(sys.executable).parent
CHAPTER = Path(__file__).resolve().parent.parent
WRONG = {"password": "not the password at all"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def limited(database_url):
    """An app with small limits, counted in Redis.

    The counters outlive the test for a minute, so every test uses names and
    addresses of its own (``new``).
    """

    def make(**settings):
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "DATABASE_URL": database_url,
                "RATELIMIT_STORAGE_URI": REDIS_URL,
                "RATELIMIT_PER_CLIENT": "5 per minute",
                "RATELIMIT_PER_ACCOUNT": "3 per minute",
                **settings,
            }
        )
        migrate.upgrade(Session.get_bind())
        return app.test_client()

    yield make
    Session.remove()
    Session.get_bind().dispose()


def new(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def login(client, username, address):
    return client.post(
        "/api/auth/login",
        json={"username": username, **WRONG},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_account_is_limited_whatever_the_client(limited):
    client = limited()
    ada = new("ada")
    # Three clients, one account in three spellings: one counter.
    spellings = [ada, ada.upper(), ada.capitalize()]
    assert [login(client, name, new("client-")).status_code for name in spellings] == [401] * 3
    limited_answer = login(client, ada, new("client-"))
    assert limited_answer.status_code == 429
    assert limited_answer.json == {
        "error": "Too Many Requests",
        "message": "Too many attempts. Try again after the number of seconds in Retry-After.",
    }
    assert 0 < int(limited_answer.headers["Retry-After"]) <= 60
    assert login(client, new("grace"), new("client-")).status_code == 401  # another account


def test_a_client_is_limited_whatever_the_account(limited):
    client = limited()
    address = new("client-")
    statuses = [login(client, new("user"), address).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert login(client, new("user"), new("client-")).status_code == 401  # another client


def test_registration_is_limited_too(limited):
    client = limited()
    hedy, statuses = new("hedy"), []
    for i in range(4):
        body = {"username": hedy, "email": f"h{i}@example.com", "password": "x" * 20}
        address = {"REMOTE_ADDR": new("client-")}
        statuses.append(client.post("/api/users", json=body, environ_base=address).status_code)
    assert statuses == [201, 409, 409, 429]


def test_with_redis_down_attempts_go_through(limited, database_url):
    # Fail open: an outage of the counters must not lock every user out.
    client = limited(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    statuses = [login(client, "ada", "192.0.2.1").status_code for _ in range(5)]
    assert statuses == [401] * 5


def test_the_limit_holds_across_gunicorn_workers(database_url, tmp_path):
    # Two workers, each with its own memory: only a shared store keeps the count.
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "a-real-secret-of-some-length",
        "FLASK_DATABASE_URL": database_url,
        "FLASK_RATELIMIT_STORAGE_URI": REDIS_URL,
        "FLASK_RATELIMIT_KEY_PREFIX": KEY_PREFIX,
        "FLASK_RATELIMIT_PER_ACCOUNT": "4 per minute",
    }
    env.pop("FLASK_DEBUG", None)
    subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=CHAPTER,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/api/auth/login"
    ada = new("ada")

    def attempt(_: int) -> int:
        body = json.dumps({"username": ada, **WRONG}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("Booting worker") < 2 or not healthy(port):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Four at a time: both sync workers serve some of them.
        with ThreadPoolExecutor(4) as pool:
            statuses = sorted(pool.map(attempt, range(12)))
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert statuses == [401] * 4 + [429] * 8, statuses
    # One counter for the account, under this run's prefix (the storage adds LIMITS:).
    counters = redis.Redis.from_url(REDIS_URL).keys(f"*account:{ada}/*")
    assert [key.decode().split("/")[:3] for key in counters] == [
        ["LIMITS:LIMITER", KEY_PREFIX, f"account:{ada}"]
    ]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
