"""Plumbing shared by the demonstrations: real commands and real dev servers, bounded in time.

Every demonstration prints what happened, like a terminal session. Nothing here
decides an outcome: the tests in ``pitfalls/tests`` read the printed output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pitfalls import CHAPTERS, ROOT
from tools.servers import free_port, wait_until

# The `flask` and `python` of the environment running the demonstration.
BIN = Path(sys.executable).parent
# Long enough for a slow, busy machine; a healthy run needs a second or two.
DEADLINE = 30.0
# The dev server's log line for an answered request, e.g. "GET /users HTTP/1.1" 200 -
REQUEST_LINE = re.compile(r'HTTP/1\.1\S*" \d{3} ')


def environment(chapter: str | None = None, **settings: str) -> dict[str, str]:
    """A clean environment: no FLASK_* or WERKZEUG_* leaking in from the caller."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "WERKZEUG_")) and key != "PYTHONPATH"
    }
    env["PYTHONUNBUFFERED"] = "1"  # lines reach the log in the order they happen
    env.update(settings)
    if chapter is not None:
        env["PYTHONPATH"] = str(CHAPTERS[chapter])
    return env


def terminal(cwd: Path, chapter: str | None = None, **settings: str) -> dict[str, str]:
    """Print the ``cd`` and ``export`` lines a reader would type; return that environment."""
    show(["cd", os.path.relpath(cwd, ROOT)])
    if chapter is not None:
        settings = {"PYTHONPATH": os.path.relpath(CHAPTERS[chapter], cwd), **settings}
    for key, value in settings.items():
        print(f"$ export {key}={shlex.quote(value)}")
    return environment(chapter, **settings)


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder for databases and logs (its name starts with ``pitfall-``)."""
    with tempfile.TemporaryDirectory(prefix="pitfall-") as path:
        yield Path(path)


def show(command: list[str], settings: dict[str, str] | None = None) -> None:
    """Print a command the way a reader would type it."""
    prefix = [f"{key}={shlex.quote(value)}" for key, value in (settings or {}).items()]
    print("$", " ".join(prefix + [shlex.quote(part) for part in command]))


FRAMES = re.compile(r"^(Traceback \(most recent call last\):\n)(?:[ \t].*\n)+", re.MULTILINE)


def elide_frames(text: str) -> str:
    """Replace the frames of each traceback with ``...``; keep the exception it ends with."""
    return FRAMES.sub(r"\1  ...\n", text)


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    shown: dict[str, str] | None = None,
    frames: bool = True,
    echo: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``flask ...`` or ``python ...`` from this environment; print it and its output.

    ``shown`` are environment variables to print in front of the command;
    ``frames=False`` shortens tracebacks; ``echo=False`` prints nothing.
    """
    if echo:
        show(command, shown)
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=cwd,
        env={**env, **(shown or {})},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    output = (result.stdout + result.stderr).rstrip()
    if echo and output:
        print(output if frames else elide_frames(output))
    if echo and result.returncode:
        print(f"[exit status {result.returncode}]")
    return result


def print_users(status: int, users: object) -> None:
    """One line for a ``GET /users`` answer: the status, the count and the names."""
    names = [user["username"] for user in users] if isinstance(users, list) else []
    print(f"GET /users -> {status}: {len(names)} user(s) {', '.join(names)}".rstrip())


class DevServer:
    """``flask ... run`` in its own process group, logging to a file; killed on exit.

    ``args`` follow ``flask``; with ``program=None`` they are the whole command.
    """

    def __init__(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        log: Path,
        program: str | None = "flask",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [str(BIN / program), *args] if program else args
        self.cwd = cwd
        self.env = {**env, "FLASK_RUN_PORT": str(self.port)}
        self.log_path = log
        self.requests = 0  # answered so far

    def __enter__(self) -> DevServer:
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the reloader's child joins this group
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, pattern: str, count: int = 1) -> None:
        """Poll the log until ``pattern`` matches ``count`` lines; fail if the server dies."""
        wait_until(
            lambda: len(re.findall(pattern, self.log(), re.MULTILINE)) >= count,
            self.process,
            timeout=DEADLINE,
            log=self.log,
            what=f"{pattern!r} in the log",
        )

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """Send one request; return the status and the decoded JSON (or None).

        Returns once the server has logged the request, so everything the
        request printed (a traceback, say) is in the log by then.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=DEADLINE) as response:
                answer = response.status, json.load(response)
        except urllib.error.HTTPError as error:
            answer = error.code, None
        self.requests += 1
        self.wait_for(REQUEST_LINE.pattern, count=self.requests)
        return answer


def main(**parts: Callable[[], None]) -> None:
    """Run the parts of a demonstration named on the command line (default: all)."""
    for name in sys.argv[1:] or parts:
        parts[name]()
