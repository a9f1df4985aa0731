"""nginx/blog.conf in Debian's real nginx, in front of the shipped gunicorn (two sync workers).

Slow clients hold none of gunicorn's workers behind it, the client's own
address reaches the app's log and rate limit (TRUSTED_PROXIES=1), and a body
over the limit gets the app's JSON 413. nginx runs without root: its files,
its pid and its logs go in a temporary folder, and it listens on a free port.

Needs nginx (Debian: apt-get install nginx-light). Without it these tests fail,
and say how to install it.
"""

import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_ratelimit import KEY_PREFIX, REDIS_URL
from test_slow_clients import CHAPTER, HALF_A_REQUEST, free_port, get, serving

SITE = CHAPTER / "nginx" / "blog.conf"
INSTALL = "apt-get install -y --no-install-recommends nginx-light"
# Half a body: the head is complete and promises 100 bytes, 14 of them come.
HALF_A_BODY = (
    b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    b'{"username": "'
)
# The outer file, Debian's /etc/nginx/nginx.conf cut to what this needs, with
# every path in a folder of its own: no root, no /var/log/nginx.
MAIN = """\
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/blog.conf;
}}
"""


def nginx_binary() -> str:
    # Debian puts it in /usr/sbin, which a user's PATH may lack.
    found = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if not found:
        pytest.fail(f"nginx is not installed. On Debian: {INSTALL}", pytrace=False)
    return found


def site_config(port: int, upstream: int, logs: Path) -> str:
    """nginx/blog.conf as shipped, with its port, gunicorn's port and its log folder moved."""
    text = SITE.read_text()
    moves = {
        "listen 80;": f"listen 127.0.0.1:{port};",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "/var/log/nginx/": f"{logs}/",
    }
    for old, new in moves.items():
        assert text.count(old) == 1, f"{SITE.name} no longer says {old!r} once"
        text = text.replace(old, new)
    return text


@dataclass
class Proxied:
    port: int  # nginx's
    upstream: int  # gunicorn's
    gunicorn_log: Path
    nginx_logs: Path


def as_nobody() -> dict:
    """Popen arguments that drop root, when these tests run as root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": "nogroup", "extra_groups": []}


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[Proxied]:
    """gunicorn on a free port, behind nginx on another, both on 127.0.0.1.

    Started once for these tests (each start takes seconds): they use
    addresses and account names of their own.
    """
    binary = nginx_binary()
    folder = tmp_path_factory.mktemp("proxied")
    log, database_url = folder / "gunicorn.log", f"sqlite:///{folder / 'blog.sqlite'}"
    # The counters in Redis, as in production; 3 attempts a minute per address.
    settings = {
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": KEY_PREFIX,
        "RATELIMIT_PER_CLIENT": "3 per minute",
        "LOG_FORMAT": "json",
    }
    with serving(database_url, log, **settings) as upstream:
        # Not under tmp_path: as root, nginx runs as nobody, who may not enter it.
        prefix = Path(tempfile.mkdtemp(prefix="blog-nginx-"))
        port = free_port()
        (prefix / "blog.conf").write_text(site_config(port, upstream, prefix))
        (prefix / "nginx.conf").write_text(MAIN.format(prefix=prefix))
        if os.geteuid() == 0:
            for path in [prefix, *prefix.iterdir()]:
                shutil.chown(path, "nobody", "nogroup")
        command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        # -e: the log for what goes wrong before the configuration is read.
        process = subprocess.Popen([*command, "-e", str(prefix / "error.log")], **as_nobody())
        try:
            deadline = time.monotonic() + 10
            while get(f"http://127.0.0.1:{port}/healthz", timeout=2) != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    errors = (prefix / "error.log").read_text()
                    pytest.fail(f"nginx did not start:\n{errors}")
                time.sleep(0.1)
            yield Proxied(port, upstream, log, prefix)
        finally:
            process.terminate()
            process.wait(timeout=10)
            shutil.rmtree(prefix, ignore_errors=True)


def hold(port: int, count: int) -> list[socket.socket]:
    """``count`` slow clients: every other one stops in its head, the rest in the body."""
    slow = []
    for i in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(HALF_A_BODY if i % 2 else HALF_A_REQUEST)
        slow.append(connection)
    time.sleep(1)  # what they sent has been read, by nginx or by gunicorn's workers
    return slow


def waiting(connection: socket.socket) -> bool:
    """Still open, and nothing came back yet."""
    connection.setblocking(False)
    try:
        connection.recv(1)
    except BlockingIOError:
        return True
    finally:
        connection.setblocking(True)
    return False


def timeouts(access_log: Path) -> list[str]:
    """The requests of nginx's log lines with status 408."""
    return re.findall(r'(".*") 408 ', access_log.read_text())


def test_bare_gunicorn_is_held_by_four_slow_clients(database_url, tmp_path):
    log = tmp_path / "gunicorn.log"
    with serving(database_url, log) as port:
        slow = hold(port, 4)
        # Both workers wait for the rest of a request until the 10-second
        # timeout kills them: nothing is answered before that.
        assert get(f"http://127.0.0.1:{port}/healthz", timeout=5) is None
        assert all(waiting(connection) for connection in slow)
        for connection in slow:
            connection.close()


def test_behind_nginx_slow_clients_hold_no_worker(proxied):
    slow = hold(proxied.port, 4)
    # nginx passes on only whole requests: both workers are free.
    assert get(f"http://127.0.0.1:{proxied.port}/healthz", timeout=30) == 200
    assert all(waiting(connection) for connection in slow)
    assert "WORKER TIMEOUT" not in proxied.gunicorn_log.read_text()
    # nginx drops each of them after 10 silent seconds (client_*_timeout).
    for connection in slow:
        connection.settimeout(30)
        assert connection.recv(65536) == b""
        connection.close()
    # nginx answered each with a 408 of its own (it logs them, and closes).
    deadline = time.monotonic() + 10
    while len(timed_out := timeouts(proxied.nginx_logs / "blog.access.log")) < 4:
        assert time.monotonic() < deadline, timed_out
        time.sleep(0.1)
    heads, bodies = '"GET /healthz HTTP/1.1"', '"POST /api/auth/login HTTP/1.1"'
    assert sorted(timed_out) == [heads] * 2 + [bodies] * 2
    assert "WORKER TIMEOUT" not in proxied.gunicorn_log.read_text()


def loopback_address() -> str:
    """An address of this machine other than 127.0.0.1 (Linux answers on all of 127/8)."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


def login(port: int, source: str, forged: str) -> http.client.HTTPResponse:
    """A failed login from ``source``, claiming to come from ``forged``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, 30, (source, 0))
    body = json.dumps({"username": f"u{uuid.uuid4().hex[:12]}", "password": "not the password"})
    headers = {
        "Content-Type": "application/json",
        "X-Forwarded-For": forged,
        "X-Request-ID": "chosen-by-the-client",
    }
    connection.request("POST", "/api/auth/login", body, headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_clients_own_address_reaches_the_app_through_nginx(proxied):
    # Two clients; one forges a new address on every attempt, to escape its limit.
    flooder, other = loopback_address(), loopback_address()
    answers = [login(proxied.port, flooder, loopback_address()) for _ in range(4)]
    answers.append(login(proxied.port, other, loopback_address()))
    assert [answer.status for answer in answers] == [401, 401, 401, 429, 401]

    # The app logged each client's own address, and nginx's request id.
    lines = [
        json.loads(line)
        for line in proxied.gunicorn_log.read_text().splitlines()
        if line.startswith("{")
    ]
    logins = [line for line in lines if line.get("path") == "/api/auth/login"]
    assert [line["client"] for line in logins] == [flooder] * 4 + [other]
    ids = [answer.getheader("X-Request-ID") for answer in answers]
    assert [line["request_id"] for line in logins] == ids
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)  # not the client's
    # The same id in nginx's own log, on the line of the same client. nginx
    # writes that line once the answer is sent: it may come a moment later.
    access_log, deadline = proxied.nginx_logs / "blog.access.log", time.monotonic() + 10
    while not all(request_id in access_log.read_text() for request_id in ids):
        assert time.monotonic() < deadline, access_log.read_text()
        time.sleep(0.1)
    access = access_log.read_text().splitlines()
    for request_id, client in zip(ids, [flooder] * 4 + [other], strict=True):
        (line,) = [line for line in access if line.endswith(" " + request_id)]
        assert line.startswith(client + " ")


def post_json(port: int, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/users", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def test_a_body_over_the_limit_gets_the_apps_413_from_nginx(proxied):
    too_large = b"x" * (128 * 1024 + 1)
    refused = post_json(proxied.port, too_large)
    assert refused == post_json(proxied.upstream, too_large)
    assert refused[0] == 413
    # At the limit, nginx passes the body on (the app refuses it as bad JSON),
    # from memory: a body written to a temporary file would be logged.
    assert post_json(proxied.port, b"x" * 128 * 1024)[0] == 400
    assert "temporary file" not in (proxied.nginx_logs / "error.log").read_text()


def test_debian_reads_the_site_from_sites_enabled():
    nginx_binary()
    main = Path("/etc/nginx/nginx.conf").read_text()
    assert "include /etc/nginx/sites-enabled/*;" in main[main.index("http {") :]
