"""Start a server on a free port and wait until it is ready: shared by bench/ and pitfalls/.

``free_port()`` finds a port; ``wait_until()`` polls a readiness check while
watching the server's process, so a server that crashes at start-up fails at
once with its log instead of after the whole deadline; ``http()`` sends one
request and never raises for an HTTP status.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen,
    *,
    timeout: float,
    log: Callable[[], str],
    what: str = "the server to be ready",
) -> None:
    """Poll ``ready()`` until it is true.

    Raises RuntimeError when ``process`` exits first and TimeoutError after
    ``timeout`` seconds, both with ``log()`` (the server's output) attached.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"the server exited first:\n{log()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no sign of {what} within {timeout} s:\n{log()}")
        time.sleep(0.05)


def http(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 10,
    headers: dict[str, str] | None = None,
) -> tuple[int | None, bytes]:
    """Send one request (JSON body if any); return the status and body, None if unreachable."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()
    except OSError:
        return None, b""
