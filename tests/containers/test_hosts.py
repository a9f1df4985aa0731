"""Chapter 08: three app hosts behind HAProxy. No state in a process; a host
killed under load; a rolling deploy under load.

Each host is reached directly at its address on the compose network (this
machine routes to it), so a test knows which host answered; the load goes
through the balancer on 127.0.0.1. The measured numbers go to
captures/hosts-*.txt, which the chapter's page includes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import (
    MEASURED,
    ROOT,
    Stack,
    build,
    call,
    compose_up,
    docker,
    official_or_stand_in,
    wait_healthy,
)

CHAPTER = ROOT / "chapters/08-hosts"
PREFIX = "blog08-test"
HAPROXY_IMAGE = "haproxy:2.6"  # compose.yaml's default
LOCAL_HAPROXY = "local/haproxy:2.6"
HAPROXY_STAND_IN = Path(__file__).parent / "haproxy"
# Measured numbers, one file per test, included by the chapter's page.
CAPTURES = {
    "kill": ROOT / "captures/hosts-killed.txt",
    "deploy": ROOT / "captures/hosts-deploy.txt",
}
# The hosts, as the balancer's config names them.
HOSTS = re.findall(r"^\s*server (\S+) ", (CHAPTER / "haproxy/haproxy.cfg").read_text(), re.M)
CAPTURED: dict[str, list[str]] = {}


def address(container: str) -> str:
    template = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    return docker("inspect", "--format", template, container).stdout.strip()


def stats(stack: Stack) -> list[dict[str, str]]:
    """The balancer's stats page as CSV: a row per frontend, host and backend."""
    url = f"http://{address(stack.container('balancer'))}:8404/stats;csv"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode().removeprefix("# ")
    return list(csv.DictReader(io.StringIO(text)))


def rotation(stack: Stack) -> dict[str, str]:
    """Each host's state in the balancer: UP, DOWN, MAINT..."""
    return {row["svname"]: row["status"] for row in stats(stack) if row["svname"] in HOSTS}


def retried(stack: Stack) -> tuple[int, int]:
    """Failed connections the balancer tried again on the same host, and on another host."""
    (backend,) = [row for row in stats(stack) if row["svname"] == "BACKEND"]
    return int(backend["wretr"]), int(backend["wredis"])


def went_down(stack: Stack, since: float) -> dict[str, str]:
    """The balancer's last line per host since ``since`` (a Unix time) that took it out."""
    logs = docker("logs", "--since", f"{since:.3f}", stack.container("balancer"))
    lines = re.findall(r"^Server hosts/(\S+) is DOWN, (.*)$", logs.stdout, re.M)
    return dict(lines)


def wait_for(stack: Stack, states: dict[str, str | tuple[str, ...]], limit: float) -> float:
    """Poll the balancer until each named host is in one of the states; the seconds it took."""
    started = time.monotonic()
    while True:
        now = rotation(stack)
        if all(now.get(host, "").startswith(state) for host, state in states.items()):
            return time.monotonic() - started
        assert time.monotonic() - started < limit, f"after {limit} s: {now}, not {states}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hosts(images, base) -> Iterator[Stack]:
    """compose up of chapter 08: PostgreSQL, Redis, migrate, the hosts, the balancer."""
    built = {**images, "production": f"{PREFIX}:production"}
    build(CHAPTER, built["production"], base, "production")
    balancer = official_or_stand_in(HAPROXY_IMAGE, HAPROXY_STAND_IN, LOCAL_HAPROXY, base)
    started = time.monotonic()
    # Beat queues the cleanup every 2 s, so the test sees a job go through.
    extra = {"HAPROXY_IMAGE": balancer, "FLASK_CLEANUP_INTERVAL": "2"}
    with compose_up(CHAPTER, PREFIX, built, extra) as stack:
        wait_healthy(stack, HOSTS, started, limit=150)
        wait_for(stack, dict.fromkeys(HOSTS, "UP"), limit=30)
        MEASURED["08: compose up until every host is in rotation (s)"] = round(
            time.monotonic() - started, 1
        )
        yield stack
    for name, lines in CAPTURED.items():
        CAPTURES[name].write_text("\n".join(lines) + "\n")


def account(url: str) -> str:
    """A new account, logged in through ``url``: its token."""
    name = f"user{secrets.token_hex(6)}"
    user = {"username": name, "email": f"{name}@example.com", "password": secrets.token_hex(12)}
    assert call("POST", f"{url}/api/users", user)[0] == 201
    status, body = call(
        "POST", f"{url}/api/auth/login", {"username": name, "password": user["password"]}
    )
    assert status == 200, body
    return body["token"]


def test_no_state_lives_in_a_host(hosts):
    token = account(hosts.url)  # through the balancer, on whichever host it picked
    first, second, third = (f"http://{address(hosts.container(host))}:8000" for host in HOSTS)
    assert len({first, second, third}) == 3

    status, post = call(
        "POST", f"{first}/api/posts", {"title": "Written", "body": "On one."}, token
    )
    assert status == 201
    for other in (second, third):
        assert call("GET", f"{other}/api/posts/{post['id']}") == (200, post)
        assert call("GET", f"{other}/api/auth/me", token=token)[0] == 200
    # Logged out on one host: the token no longer works on any.
    assert call("POST", f"{third}/api/auth/logout", token=token)[0] == 204
    for host in (first, second, third):
        assert call("GET", f"{host}/api/auth/me", token=token)[0] == 401


def test_beat_queues_the_cleanup_and_the_worker_runs_it(hosts):
    worker = hosts.container("worker")
    started = time.monotonic()
    done = re.compile(r"Task blog\.cleanup\.delete_expired_task\[\S+\] succeeded")
    while not done.search(logs := docker("logs", worker).stderr):
        assert time.monotonic() - started < 60, (
            logs + docker("logs", hosts.container("beat")).stderr
        )
        time.sleep(0.5)
    assert "Sending due task" in docker("logs", hosts.container("beat")).stderr


def failed_logins(urls: list[str], attempts: int) -> list[tuple[str, int]]:
    """Wrong passwords for one new account, in turn on each of ``urls``: (url, status) each."""
    name = f"mallory{secrets.token_hex(6)}"
    # A client address of its own (the hosts trust one X-Forwarded-For), so the
    # per-address limit of other tests' attempts does not count here.
    client = f"198.51.100.{secrets.randbelow(250) + 1}"
    answers = []
    for attempt in range(attempts):
        url = urls[attempt % len(urls)]
        request = urllib.request.Request(
            f"{url}/api/auth/login",
            data=f'{{"username": "{name}", "password": "wrong"}}'.encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": client},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append((url, response.status))
        except urllib.error.HTTPError as error:
            answers.append((url, error.code))
    return answers


def test_the_login_limit_holds_across_hosts(hosts):
    urls = [f"http://{address(hosts.container(host))}:8000" for host in HOSTS]
    # 21 attempts at one account, whose limit is 10 a minute: on one host, then
    # on every host in turn. Counted in each host's memory, the second would
    # allow 10 per host, 21 in all.
    one = [status for _, status in failed_logins(urls[:1], 21)]
    spread = failed_logins(urls, 21)
    assert one == [401] * 10 + [429] * 11
    assert [status for _, status in spread] == one
    # Every host refused some: it counted attempts made on the others.
    assert {url for url, status in spread if status == 429} == set(urls)


# The API's body limit (MAX_CONTENT_LENGTH), which haproxy.cfg repeats.
LIMIT = 128 * 1024


def raw_post(url: str, token: str, body: bytes, length: int) -> socket.socket:
    """A POST of ``body`` to ``url``/api/posts that says it is ``length`` bytes long."""
    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"POST /api/posts HTTP/1.1\r\nHost: blog\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    connection.sendall(head.encode() + body)
    return connection


def test_slow_clients_wait_in_the_balancer_not_in_a_host(hosts):
    token = account(hosts.url)
    # Twice as many clients as the hosts have sync workers (2 each), each
    # sending all of a body at the limit but its last byte. Passed on, each
    # would hold a worker until gunicorn's timeout (chapter 07 shows it).
    slow = [raw_post(hosts.url, token, b"x" * (LIMIT - 1), LIMIT) for _ in range(4 * len(HOSTS))]
    try:
        time.sleep(1)
        started = time.monotonic()
        status, _ = call("GET", f"{hosts.url}/api/users")
        waited = time.monotonic() - started
    finally:
        for connection in slow:
            connection.close()
    assert status == 200
    # Held, it waits for the hosts to time the slow requests out (~9 s here).
    assert waited < 3, f"the GET waited {waited:.1f} s behind the slow clients"


def answer(connection: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the one answer on ``connection``; then closes it."""
    with connection, connection.makefile("rb") as reader:
        status = int(reader.readline().split()[1])
        headers = {}
        while (line := reader.readline().strip()) != b"":
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        return status, json.loads(reader.read(int(headers["content-length"])))


def test_a_body_over_the_limit_gets_the_apps_413_from_the_balancer(hosts):
    token = account(hosts.url)
    host = f"http://{address(hosts.container(HOSTS[0]))}:8000"
    # Refused on the length alone, by the balancer as by a host: not one byte
    # of the body is sent (a host may close before a body arrives whole).
    refused = answer(raw_post(hosts.url, token, b"", LIMIT + 1))
    assert refused[0] == 413
    assert refused == answer(raw_post(host, token, b"", LIMIT + 1))
    # At the limit, the whole body reaches a host (which refuses it as bad JSON).
    assert answer(raw_post(hosts.url, token, b"x" * LIMIT, LIMIT))[0] == 400


@dataclass
class Load:
    """Writers posting through the balancer until stopped: when each request went, its answer."""

    url: str
    token: str
    writers: int = 3
    answers: list[tuple[float, int, dict | str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, writer: int) -> None:
        count = 0
        while not self.stop.is_set():
            post = {"title": f"w{writer}-{count}", "body": "Under load."}
            request = urllib.request.Request(
                f"{self.url}/api/posts",
                data=json.dumps(post).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
                method="POST",
            )
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, body = response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:  # the balancer's own 502 or 503 is HTML
                status, body = error.code, error.read().decode(errors="replace")
            except OSError as error:  # no HTTP answer at all
                status, body = 0, repr(error)
            self.answers.append((sent, status, body))
            count += 1
            time.sleep(0.02)  # a pause between writes: load, not a stress test

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(self.writers)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.seconds = time.monotonic() - self.started

    @property
    def failed(self) -> list[tuple[float, int, dict | str]]:
        return [answer for answer in self.answers if answer[1] != 201]

    def written(self) -> list[dict]:
        return [body for _, status, body in self.answers if status == 201]

    def stored(self) -> dict[int, dict]:
        """Every post of the writers' account, read page by page: {id: post}."""
        posts: dict[int, dict] = {}
        user = self.written()[0]["user_id"]
        url = f"{self.url}/api/users/{user}/posts?limit=100"
        while url:
            status, page = call("GET", url)
            assert status == 200, page
            posts.update((post["id"], post) for post in page["items"])
            url = page["next"] and self.url + page["next"].removeprefix(self.url)
        return posts


def test_a_host_killed_under_load_loses_no_acknowledged_write(hosts):
    victim = HOSTS[1]
    container = hosts.container(victim)
    since = time.time()
    before = retried(hosts)
    with Load(hosts.url, account(hosts.url)) as load:
        time.sleep(4)  # load before the fault: a measured span, not a synchronisation
        docker("kill", container)
        killed = time.monotonic()
        # Out of rotation: its probes fail (DOWN), or its name no longer resolves (MAINT).
        out = wait_for(hosts, {victim: ("DOWN", "MAINT")}, limit=15)
        time.sleep(6)  # load while the host is gone
    failed = load.failed
    reason = went_down(hosts, since)[victim]
    retries, redispatches = (now - then for now, then in zip(retried(hosts), before, strict=True))
    # Connections to the dead host failed, and went to another host instead.
    assert redispatches > 0
    # Only requests sent before the kill, to the killed host, failed: one per writer at most.
    assert len(failed) <= load.writers, failed
    assert all(sent < killed for sent, _, _ in failed), failed
    written = load.written()
    assert len(written) > 100
    # Every acknowledged write is stored, as acknowledged; a failed one at most once.
    stored = load.stored()
    assert all(stored.get(post["id"]) == post for post in written)
    assert len(written) <= len(stored) <= len(written) + len(failed)

    back = time.monotonic()
    assert hosts.run("up", "--detach", "--no-deps", victim).returncode == 0
    wait_healthy(hosts, [victim], back)
    wait_for(hosts, {victim: "UP"}, limit=60)
    returned = time.monotonic() - back
    CAPTURED["kill"] = [
        f"# A host killed (docker kill {victim}) under load: {load.writers} writers, "
        f"{load.seconds:.0f} s, through the balancer",
        f"writes sent: {len(load.answers)}",
        f"acknowledged (201): {len(written)}, each read back as acknowledged",
        f"stored: {len(stored)}",
        f"failed: {len(failed)} ("
        + ", ".join(str(status or "no answer") for *_, status, _ in failed)
        + ")",
        f"kill to out of rotation: {out:.1f} s",
        f"failed connections tried again on another host: {redispatches}, "
        f"on the same host: {retries}",
        f"the balancer: {victim} is DOWN, {reason}",
        f"started again to back in rotation: {returned:.1f} s",
    ]
    MEASURED["08: kill to out of rotation (s)"] = round(out, 1)


def test_a_rolling_deploy_under_load_fails_no_request(hosts):
    before = {host: hosts.container(host) for host in HOSTS}
    steps = []
    since = time.time()
    with Load(hosts.url, account(hosts.url)) as load:
        for host in HOSTS:
            started = time.monotonic()
            # Stop (drain, then gunicorn stops), remove, create and start one host.
            recreate = hosts.run("up", "--detach", "--no-deps", "--force-recreate", host)
            assert recreate.returncode == 0, recreate.stderr
            wait_healthy(hosts, [host], started)
            wait_for(hosts, {host: "UP"}, limit=60)
            steps.append(time.monotonic() - started)
    after = {host: hosts.container(host) for host in HOSTS}
    assert all(before[host] != after[host] for host in HOSTS)
    assert load.failed == []
    assert len(load.written()) > 100
    assert load.stored() == {post["id"]: post for post in load.written()}
    # Each host left the rotation on a 503 from /readyz while it drained, not
    # on a refused connection once it had stopped.
    reasons = went_down(hosts, since)
    assert sorted(reasons) == sorted(HOSTS)
    assert all("code: 503" in reason for reason in reasons.values()), reasons
    CAPTURED["deploy"] = [
        f"# A rolling deploy, one host at a time, under load: {load.writers} writers, "
        f"{load.seconds:.0f} s, through the balancer",
        f"writes sent: {len(load.answers)}",
        f"acknowledged (201): {len(load.written())}, each read back as acknowledged",
        f"failed: {len(load.failed)}",
        *(f"the balancer: {host} is DOWN, {reasons[host]}" for host in HOSTS),
        "each host, stop to back in rotation: "
        + ", ".join(f"{host} {step:.1f} s" for host, step in zip(HOSTS, steps, strict=True)),
    ]
    MEASURED["08: rolling deploy of every host (s)"] = round(sum(steps), 1)
