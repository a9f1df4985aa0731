"""Which Docker the container tests use, and the command that installs one.

Debian's client (/usr/bin/docker, BuildKit built in) and daemon (dockerd), and
a compose: Debian's docker-compose 1.29, else the `docker compose` plugin.
The daemon is used when it answers; otherwise, as root, the tests start one
(and stop it when they end). Standard library only, so the nox session can
ask before it installs anything:

    python tests/containers/docker.py    # prints what it found, or the fix and exits 1
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Another `docker` earlier on PATH may lack BuildKit (buildx), which the builds need.
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
DATA_ROOT = os.environ.get("DOCKER_DATA_ROOT", "/var/lib/docker")
PACKAGES = "docker.io docker-compose debootstrap iptables"


def fix_command() -> str:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if Path("/etc/debian_version").exists():
        sudo = "" if root else "sudo "
        return f"{sudo}apt-get install -y --no-install-recommends {PACKAGES}"
    return "install Docker Engine and Compose: https://docs.docker.com/engine/install/"


def compose_command() -> list[str] | None:
    if path := shutil.which("docker-compose"):
        return [path]
    plugin = subprocess.run([DOCKER, "compose", "version"], capture_output=True)
    return [DOCKER, "compose"] if plugin.returncode == 0 else None


def daemon_answers() -> bool:
    check = subprocess.run([DOCKER, "info", "--format", "{{.ServerVersion}}"], capture_output=True)
    return check.returncode == 0


def problems() -> list[str]:
    """Why Docker cannot run here; empty when it can."""
    if not os.access(DOCKER, os.X_OK):
        return [f"no Docker client at {DOCKER}"]
    found = []
    if compose_command() is None:
        found.append("no docker-compose and no `docker compose` plugin")
    if not daemon_answers():
        if not os.access(DOCKERD, os.X_OK):
            found.append(f"the Docker daemon does not answer and there is no {DOCKERD}")
        elif os.geteuid() != 0:
            found.append("the Docker daemon does not answer, and only root can start it")
    return found


def describe() -> str:
    version = subprocess.run([DOCKER, "--version"], capture_output=True, text=True).stdout.strip()
    compose = " ".join(compose_command() or [])
    daemon = (
        "the daemon answers"
        if daemon_answers()
        else f"no daemon yet: the tests start {DOCKERD} and stop it at the end"
    )
    return f"Docker: {version} ({DOCKER}); compose: {compose}; {daemon}"


if __name__ == "__main__":
    if found := problems():
        sys.exit(
            "Docker cannot run the container tests here: "
            + "; ".join(found)
            + f".\nInstall it with:\n\n    {fix_command()}\n"
        )
    print(describe())
