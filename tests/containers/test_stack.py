"""The production image under compose, with PostgreSQL and Redis: what the docs say it does, done.

The last test stops the app; the stack fixture then removes everything.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import CHAPTER, MEASURED, PREFIX, build, call, docker, health


def test_the_walk_through_works_against_the_stack(stack):
    api = f"{stack.url}/api"
    hedy = {"username": "hedy", "email": "hedy@example.com", "password": "frequency hopping 1942"}
    alan = {"username": "alan", "email": "alan@example.com", "password": "on computable numbers"}
    assert call("POST", f"{api}/users", hedy)[0] == 201
    assert call("POST", f"{api}/users", alan)[0] == 201

    login = {key: hedy[key] for key in ("username", "password")}
    status, body = call("POST", f"{api}/auth/login", login)
    assert status == 200
    token = body["token"]
    status, post = call("POST", f"{api}/posts", {"title": "Hello", "body": "Hi."}, token)
    assert (status, post["title"], post["user_id"]) == (201, "Hello", 1)

    login = {key: alan[key] for key in ("username", "password")}
    other = call("POST", f"{api}/auth/login", login)[1]["token"]
    status, body = call("PATCH", f"{api}/posts/{post['id']}", {"title": "Mine now"}, other)
    assert (status, body["error"]) == (403, "Forbidden")

    assert call("POST", f"{api}/auth/logout", token=token)[0] == 204
    assert call("GET", f"{api}/auth/me", token=token)[0] == 401
    status, page = call("GET", f"{api}/users/1/posts")
    assert [item["title"] for item in page["items"]] == ["Hello"]


def test_the_migrations_ran_once_before_the_app_served(stack):
    labels = ("com.docker.compose.service=migrate", "com.docker.compose.project=blog07-test")
    filters = [part for label in labels for part in ("--filter", f"label={label}")]
    migrate = docker("ps", "--all", "--quiet", *filters).stdout.split()
    assert len(migrate) == 1
    state = json.loads(docker("inspect", "--format", "{{json .State}}", migrate[0]).stdout)
    assert (state["Status"], state["ExitCode"]) == ("exited", 0)
    logs = docker("logs", migrate[0]).stdout
    assert "Initialized the database at postgresql+psycopg://blog:***@db:5432/blog" in logs
    assert call("GET", f"{stack.url}/readyz") == (200, {"status": "ready"})


def processes_as_root(container: str) -> dict[str, list[str]]:
    """Process 1 and its children that hold uid 0 (real, effective, saved or file system)."""
    found = {}
    pids = docker("exec", container, "sh", "-c", "echo 1; cat /proc/1/task/1/children").stdout
    for pid in pids.split():
        status = docker("exec", container, "cat", f"/proc/{pid}/status").stdout
        uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE).group(1).split()
        if "0" in uids:
            found[pid] = uids
    return found


def test_the_app_runs_as_a_user_without_privileges(stack):
    app = stack.container("app")
    # Process 1 is gunicorn's master; its workers are its children.
    assert len(docker("exec", app, "cat", "/proc/1/task/1/children").stdout.split()) == 2
    assert processes_as_root(app) == {}
    assert docker("exec", app, "id", "-un").stdout.strip() == "blog"


def test_without_its_user_lines_the_image_runs_as_root(base, tmp_path):
    """The check above can fail: the same Dockerfile without `USER` runs as root."""
    context = tmp_path / "chapter"
    shutil.copytree(CHAPTER, context, ignore=shutil.ignore_patterns("__pycache__", "instance"))
    dockerfile = context / "Dockerfile"
    lines = dockerfile.read_text().splitlines(True)
    dockerfile.write_text("".join(line for line in lines if not line.startswith("USER ")))
    assert len(dockerfile.read_text().splitlines()) == len(lines) - 2
    build(context, f"{PREFIX}:without-user", base, "production")
    container = docker("run", "--detach", f"{PREFIX}:without-user", "sleep", "60").stdout.strip()
    try:
        assert processes_as_root(container) == {"1": ["0", "0", "0", "0"]}
    finally:
        docker("rm", "--force", container)


def test_the_health_check_asks_readyz(stack):
    app = stack.container("app")
    check = json.loads(docker("inspect", "--format", "{{json .Config.Healthcheck}}", app).stdout)
    assert any("/readyz" in part for part in check["Test"])
    assert health(app) == "healthy"
    assert "[ERROR]" not in docker("logs", app).stderr


# Run in the app container: how many of gunicorn's workers hold a connection
# to port 6379 (0x18EB), by matching their sockets with the kernel's TCP table.
WORKERS_CONNECTED_TO_REDIS = """
import os
tcp = [line.split() for line in open('/proc/net/tcp').read().splitlines()[1:]]
redis = {f'socket:[{f[9]}]' for f in tcp if f[2].endswith(':18EB')}
workers = open('/proc/1/task/1/children').read().split()
print(sum(any(os.readlink(f'/proc/{w}/fd/{fd}') in redis for fd in os.listdir(f'/proc/{w}/fd'))
          for w in workers))
"""


def test_the_login_limit_is_counted_once_for_both_workers_in_redis(stack):
    name = f"mallory{secrets.token_hex(6)}"
    url = f"{stack.url}/api/auth/login"

    def attempt(_: int) -> int:
        return call("POST", url, {"username": name, "password": "not the password"})[0]

    # Three at a time, 21 attempts at one account, whose limit is 10 a minute.
    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(attempt, range(21)))
    assert statuses == [401] * 10 + [429] * 11
    # One counter, in the Redis container, that has seen every attempt...
    redis = stack.container("redis")
    keys = docker("exec", redis, "redis-cli", "--scan", "--pattern", f"*account:{name}*")
    (key,) = keys.stdout.split()
    assert docker("exec", redis, "redis-cli", "GET", key).stdout.strip() == "21"
    # ... and both workers answered some of them: each holds a connection to it.
    app = stack.container("app")
    connected = docker("exec", app, "python3", "-c", WORKERS_CONNECTED_TO_REDIS).stdout
    assert connected.strip() == "2"


def test_the_image_holds_no_build_tools_and_no_secret(images):
    script = (
        "import importlib.util, os, shutil;"
        "print([m for m in ('pip', 'setuptools') if importlib.util.find_spec(m)],"
        " [t for t in ('gcc', 'cc', 'make', 'pip', 'pip3') if shutil.which(t)],"
        " os.path.exists('/run/secrets/cabundle'),"
        " sorted(k for k in os.environ if 'CERT' in k))"
    )
    result = docker("run", "--rm", images["production"], "python3", "-c", script)
    assert result.stdout.strip() == "[] [] False []"


def test_docker_stop_lets_a_request_in_progress_finish(stack):
    """A client sends half a request; `docker stop` comes; the client sends the rest."""
    app = stack.container("app")
    body = json.dumps(
        {"username": "grace", "email": "grace@example.com", "password": "a compiler in 1952"}
    ).encode()
    head = (
        f"POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    stopped: dict[str, float] = {}

    def stop() -> None:
        started = time.monotonic()
        docker("stop", app)
        stopped["seconds"] = time.monotonic() - started

    with socket.create_connection(("127.0.0.1", stack.port), timeout=20) as client:
        client.sendall(head + body[:10])
        time.sleep(1)  # a worker has the request now, and waits for the body
        stopper = threading.Thread(target=stop)
        stopper.start()
        time.sleep(2)  # SIGTERM has arrived: gunicorn drains, then stops its workers
        assert stopper.is_alive(), "the container stopped with a request in progress"
        client.sendall(body[10:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        stopper.join(timeout=30)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]
    state = json.loads(docker("inspect", "--format", "{{json .State}}", app).stdout)
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 0, False)
    grace = 20  # compose.yaml's stop_grace_period
    assert stopped["seconds"] < grace
    MEASURED["docker stop with a request in progress (s)"] = round(stopped["seconds"], 1)
    logs = docker("logs", app).stderr
    assert "Handling signal: term" in logs
