"""tools/servers.py: the start-and-wait helpers the benchmark and the pitfall demos share."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tools.servers import free_port, http, wait_until


def test_free_port_can_be_bound():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_wait_until_returns_once_ready():
    checks = iter([False, False, True])
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as process:
        wait_until(lambda: next(checks), process, timeout=5, log=lambda: "")
        process.kill()


def test_wait_until_fails_at_once_with_the_log_when_the_server_exits():
    with subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]) as process:
        with pytest.raises(RuntimeError, match="exited first:\nthe log"):
            wait_until(lambda: False, process, timeout=30, log=lambda: "the log")


def test_wait_until_gives_up_after_the_timeout():
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as process:
        with pytest.raises(TimeoutError, match="no sign of the answer within 0.2 s"):
            wait_until(lambda: False, process, timeout=0.2, log=str, what="the answer")
        process.kill()


def test_http_reports_an_unreachable_server_as_none():
    assert http(f"http://127.0.0.1:{free_port()}/", timeout=2) == (None, b"")
