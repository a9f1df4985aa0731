"""Fixtures: a Docker daemon, a Debian base image, chapter 07's images, its compose stack.

Chapter 08's stack (several hosts behind HAProxy) is in test_hosts.py, from
the same pieces: build(), official_or_stand_in(), compose_up().

Everything is built for real. Cached between runs on the same machine: the
daemon's data (images and build cache) and the base image. Environment:

    CONTAINERS_REBUILD_BASE=1   make local/debian:bookworm again with debootstrap
    CONTAINERS_MEASUREMENTS=f   write the measured times and sizes to f (JSON)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import docker as host  # noqa: E402  (tests/containers/docker.py, standard library only)

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "chapters/07-operations"
POSTGRES_STAND_IN = Path(__file__).parent / "postgres"
REDIS_STAND_IN = Path(__file__).parent / "redis"
REGISTRY_BASE = "debian:bookworm-slim"  # the Dockerfile's default
LOCAL_BASE = "local/debian:bookworm"
POSTGRES_IMAGE = "postgres:17-bookworm"  # compose.yaml's default
LOCAL_POSTGRES = "local/postgres:15"
REDIS_IMAGE = "redis:7"  # compose.yaml's default
LOCAL_REDIS = "local/redis:7"
PREFIX = "blog07-test"
MEASURED: dict[str, object] = {}


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result = subprocess.run([host.DOCKER, *args], **kwargs)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def image_exists(name: str) -> bool:
    return docker("image", "inspect", name, check=False).returncode == 0


def image_size_mb(name: str) -> float:
    return round(int(docker("image", "inspect", "--format", "{{.Size}}", name).stdout) / 1e6, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pytest_terminal_summary(terminalreporter) -> None:
    if not MEASURED:
        return
    terminalreporter.section("measured")
    for key, value in MEASURED.items():
        terminalreporter.write_line(f"{key}: {value}")
    if path := os.environ.get("CONTAINERS_MEASUREMENTS"):
        Path(path).write_text(json.dumps(MEASURED, indent=2) + "\n")


@pytest.fixture(scope="session")
def daemon() -> Iterator[None]:
    """The daemon that answers, or one started here and stopped at the end."""
    if found := host.problems():
        pytest.exit("Docker cannot run here: " + "; ".join(found), returncode=1)
    if host.daemon_answers():
        print(f"\nDocker daemon: already running ({host.describe()})")
        yield
        return
    pidfile = Path(tempfile.gettempdir()) / f"{PREFIX}-dockerd.pid"
    log = open(Path(tempfile.gettempdir()) / f"{PREFIX}-dockerd.log", "w")  # noqa: SIM115
    started = time.monotonic()
    process = subprocess.Popen(
        [host.DOCKERD, "--data-root", host.DATA_ROOT, "--pidfile", str(pidfile)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        while not host.daemon_answers():
            if process.poll() is not None or time.monotonic() - started > 30:
                pytest.exit(f"dockerd did not start; its log: {log.name}", returncode=1)
            time.sleep(0.2)
        MEASURED["dockerd start (s)"] = round(time.monotonic() - started, 1)
        print(f"\nDocker daemon: started {host.DOCKERD} (pid {process.pid}) on {host.DATA_ROOT}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (so its proxy or cache applies)."""
    for path in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if path.exists():
            match = re.search(r"(?:URIs:|deb)\s+(http\S+/debian)\b", path.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def debootstrap_base() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}-rootfs-") as rootfs:
        mirror = debian_mirror()
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # As in Debian's own images: no package lists or downloaded packages
        # (every Dockerfile step runs `apt-get update` first).
        for folder in ("var/cache/apt", "var/lib/apt/lists"):
            subprocess.run(["find", f"{rootfs}/{folder}", "-type", "f", "-delete"], check=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        docker("import", "-", LOCAL_BASE, stdin=tar.stdout, text=False)
        tar.wait()
    MEASURED["base image: debootstrap + import (s)"] = round(time.monotonic() - started, 1)


@pytest.fixture(scope="session")
def base(daemon) -> str:
    """A Debian 12 image: the registry's when it is here or answers, else one made here."""
    if os.environ.get("CONTAINERS_REBUILD_BASE"):
        debootstrap_base()
    elif image_exists(REGISTRY_BASE):
        return REGISTRY_BASE
    elif not image_exists(LOCAL_BASE):
        if docker("pull", REGISTRY_BASE, check=False).returncode == 0:
            return REGISTRY_BASE
        print(f"\nNo registry answers: making {LOCAL_BASE} with debootstrap")
        debootstrap_base()
    MEASURED["base image (MB)"] = image_size_mb(LOCAL_BASE)
    return LOCAL_BASE


def build(context: Path, tag: str, base: str, target: str | None = None) -> None:
    """docker build with BuildKit, passing this machine's CA bundle as a secret."""
    args = ["build", "--tag", tag, "--build-arg", f"BASE={base}"]
    if target:
        args += ["--target", target]
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():  # a proxy may re-sign HTTPS with a CA only this bundle trusts
        args += ["--secret", f"id=cabundle,src={bundle}"]
    started = time.monotonic()
    docker(*args, str(context), env={**os.environ, "DOCKER_BUILDKIT": "1"})
    MEASURED[f"build {tag} (s)"] = round(time.monotonic() - started, 1)
    MEASURED[f"size {tag} (MB)"] = image_size_mb(tag)


def official_or_stand_in(official: str, stand_in: Path, local: str, base: str) -> str:
    """The registry's image when it is here or answers, else one built from Debian's package."""
    if image_exists(official) or docker("pull", official, check=False).returncode == 0:
        return official
    build(stand_in, local, base)
    return local


@pytest.fixture(scope="session")
def images(base) -> dict[str, str]:
    built = {"production": f"{PREFIX}:production", "development": f"{PREFIX}:development"}
    for target, tag in built.items():
        build(CHAPTER, tag, base, target)
    # No registry: Debian's PostgreSQL behind the official image's variables,
    # and Debian's redis-server, started as the official image starts it.
    built["postgres"] = official_or_stand_in(
        POSTGRES_IMAGE, POSTGRES_STAND_IN, LOCAL_POSTGRES, base
    )
    built["redis"] = official_or_stand_in(REDIS_IMAGE, REDIS_STAND_IN, LOCAL_REDIS, base)
    return built


@dataclass
class Stack:
    url: str
    port: int
    compose: list[str]
    env: dict[str, str]
    chapter: Path = CHAPTER

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A compose command on this stack, in its chapter's folder."""
        return subprocess.run(
            [*self.compose, *args], env=self.env, cwd=self.chapter, capture_output=True, text=True
        )

    def container(self, service: str) -> str:
        ids = self.run("ps", "--quiet", service)
        assert ids.returncode == 0, ids.stderr
        return ids.stdout.strip()


def health(container: str) -> str:
    return docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()


def wait_healthy(stack: Stack, services: list[str], started: float, limit: float = 90) -> None:
    """Poll Docker's health check of each service until it says healthy."""
    for service in services:
        container = stack.container(service)
        while (status := health(container)) != "healthy":
            assert status == "starting", stack.run("logs", "--no-color").stdout
            assert time.monotonic() - started < limit, stack.run("logs").stdout
            time.sleep(0.5)


@contextmanager
def compose_up(
    chapter: Path, project: str, images: dict[str, str], extra_env: dict[str, str]
) -> Iterator[Stack]:
    """`compose up` of a chapter's compose.yaml; everything removed at the end."""
    compose = [*host.compose_command(), "--project-name", project, "--file", "compose.yaml"]
    port = free_port()
    env = {
        **os.environ,
        "BLOG_IMAGE": images["production"],
        "POSTGRES_IMAGE": images["postgres"],
        "REDIS_IMAGE": images["redis"],
        "BLOG_PORT": str(port),
        "FLASK_SECRET_KEY": secrets.token_hex(32),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        **extra_env,
    }
    stack = Stack(f"http://127.0.0.1:{port}", port, compose, env, chapter)
    stack.run("down", "--volumes", "--remove-orphans")  # leftovers of an interrupted run
    up = stack.run("up", "--detach")
    try:
        assert up.returncode == 0, up.stderr + stack.run("logs", "--no-color").stdout
        yield stack
    finally:
        down = stack.run("down", "--volumes", "--remove-orphans")
        assert down.returncode == 0, down.stderr
        labelled = f"label=com.docker.compose.project={project}"
        left = docker("ps", "--all", "--quiet", "--filter", labelled)
        assert not left.stdout.strip(), f"containers left behind: {left.stdout}"
        for kind in ("volume", "network"):
            left = docker(kind, "ls", "--quiet", "--filter", f"name={project}")
            assert not left.stdout.strip(), f"{kind}s left behind: {left.stdout}"


@pytest.fixture(scope="session")
def stack(images) -> Iterator[Stack]:
    """Chapter 07's compose.yaml: one app container, PostgreSQL, Redis."""
    started = time.monotonic()
    with compose_up(CHAPTER, PREFIX, images, {}) as stack:
        wait_healthy(stack, ["app"], started)
        MEASURED["compose up to healthy (s)"] = round(time.monotonic() - started, 1)
        yield stack


def call(method: str, url: str, body: dict | None = None, token: str | None = None):
    """(status, JSON body or None) of one request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, json.loads(text) if text else None
