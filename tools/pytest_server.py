"""Run pytest many times over without starting Python and its libraries each time.

The proofs run pytest some 330 times, on small guard tests. Each fresh
interpreter spent about a second importing pytest, Flask, SQLAlchemy, Alembic,
Pydantic and the rest before a test could start. This server imports those
third-party libraries once, then forks one child per run: the child starts
with them in memory (copy-on-write), changes to the run's folder and
environment, and calls ``pytest.main``. Whatever a child does (an import, a
setting, a patched function) dies with it; the next child starts from the
server's state again.

The server never imports a chapter's own code (``blog``, chapter 01's ``app``)
nor its tests: each child imports them fresh from its own folder, the mutated
file included, exactly as ``python -m pytest`` would there. It checks that
before every fork.

    server = PytestServer.start(folder)      # a socket in folder
    result = server.run(cwd, args, env, timeout=600)
    server.stop()

Standard library only in the protocol: one JSON line asks for a run on a new
Unix-socket connection; the child answers with its pid, then the exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

# Third-party modules worth having in memory: the heaviest imports of a guard
# run (measured with -X importtime). Missing ones are skipped. Never a chapter's
# own module names (``blog``, ``app``, ``tests``, ``conftest``): see CHAPTER_MODULES.
PRELOAD = (
    "pytest",
    "_pytest.config",
    "_pytest.assertion.rewrite",
    "_pytest.python",
    "_pytest.fixtures",
    "_pytest.logging",
    "_pytest.terminal",
    "_pytest.junitxml",
    "_pytest.pytester",
    "_pytest.tmpdir",
    "_pytest.monkeypatch",
    "_pytest.capture",
    "_pytest.debugging",
    "_pytest.doctest",
    "_pytest.unittest",
    "_pytest.warnings",
    "_pytest.faulthandler",
    "pygments.lexers.python",
    "platformdirs",
    "click",
    "click.testing",
    "werkzeug",
    "werkzeug.security",
    "werkzeug.test",
    "flask",
    "flask.testing",
    "jinja2",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.ext.compiler",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg",
    "psycopg",
    "flask_sqlalchemy",
    "alembic",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.script",
    "alembic.operations",
    "mako.template",
    "email_validator",
    "pydantic",
    "marshmallow",
    "apiflask",
    "flask_cors",
    "limits",
    "limits.storage",
    "flask_limiter",
    "dotenv",
)
# Not hypothesis: it is a pytest plugin (an entry point), and pytest rewrites the
# asserts of a plugin it imports; one already imported warns, and the chapters turn
# that warning into an error.
# Names a chapter's own code and tests use: the server must never hold them, or a
# child would run the server's copy instead of its folder's.
CHAPTER_MODULES = ("blog", "app", "tests", "conftest")


def preload(names: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import what can be imported of ``names``; return those imported."""
    loaded = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # not installed here, or needs what is not: the child imports it
            continue
        loaded.append(name)
    return loaded


def chapter_modules_loaded() -> list[str]:
    return [
        name
        for name in sys.modules
        if name.split(".")[0] in CHAPTER_MODULES or name.startswith("test_")
    ]


@dataclass
class Result:
    """What ``subprocess.run(..., capture_output=True, text=True)`` gives back, in short."""

    returncode: int
    stdout: str
    stderr: str


class ServerError(Exception):
    """The server could not start, or a run ended without an answer."""


# --- the server process ---------------------------------------------------


def serve(address: str) -> None:
    # The server's own folder (tools/) and PYTHONPATH are not a chapter's: a child
    # gets sys.path as `python -m pytest` in its folder would have it.
    # (The client starts the server without PYTHONPATH.)
    base_path = sys.path[1:]
    sys.path[:] = base_path
    preload()
    if leaked := chapter_modules_loaded():
        raise SystemExit(f"the pytest server imported chapter modules: {leaked}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    # Each child reports its exit code on its socket; the server waits for it all
    # the same, so that its CPU time counts in the server's (and its caller's) rusage.
    signal.signal(signal.SIGCHLD, reap)
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        with connection.makefile("r", encoding="utf-8") as lines:
            line = lines.readline()
        if not line:
            connection.close()
            continue
        request = json.loads(line)
        # A fork copies only the calling thread: a second thread would be lost half-way.
        if threading.active_count() != 1 or chapter_modules_loaded():
            connection.sendall(b'{"error": "the server is no longer clean"}\n')
            connection.close()
            continue
        pid = os.fork()
        if pid == 0:  # the child: never returns
            listener.close()
            code = 70
            try:
                code = child(connection, request, base_path)
            finally:
                os._exit(code)
        connection.close()


def reap(signum: int, frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def child(connection: socket.socket, request: dict, base_path: list[str]) -> int:
    os.setsid()  # its own process group: a timeout kills the run and what it started
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # subprocess.run in a test waits for its child
    connection.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    cwd, env = request["cwd"], request["env"]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    # As `python -m pytest` in cwd: the folder first, then $PYTHONPATH, then the rest.
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [cwd, *extra, *base_path]
    importlib.invalidate_caches()
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    import pytest

    sys.argv = [str(Path(pytest.__file__).with_name("__main__.py")), *request["args"]]
    try:
        code = int(pytest.main(request["args"]))
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
    return 0


# --- the client -------------------------------------------------------------


class PytestServer:
    def __init__(self, process: subprocess.Popen, address: str) -> None:
        self.process = process
        self.address = address

    @classmethod
    def start(cls, folder: Path, timeout: float = 120) -> PytestServer:
        """Start a server with this Python; its socket goes in ``folder``."""
        address = str(folder / "pytest-server.sock")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        process = subprocess.Popen(
            [sys.executable, __file__, address],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = threading.Event()
        waiter = threading.Thread(target=lambda: ready.set() if process.stdout.readline() else 0)
        waiter.start()
        waiter.join(timeout)
        if not ready.is_set():
            process.kill()
            _, err = process.communicate(timeout=30)
            raise ServerError(f"the pytest server did not start: {err.strip()[-2000:]}")
        return cls(process, address)

    def run(
        self, cwd: Path, args: list[str], env: dict[str, str], output: Path, timeout: float
    ) -> Result:
        """Run ``pytest args`` in ``cwd`` with exactly ``env``; output goes to output.*."""
        out, err = output.with_suffix(".out"), output.with_suffix(".err")
        request = {"cwd": str(cwd), "args": args, "env": env}
        request |= {"stdout": str(out), "stderr": str(err)}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            try:
                connection.connect(self.address)
            except OSError as error:
                raise ServerError(f"the pytest server does not answer: {error}") from error
            connection.sendall(json.dumps(request).encode() + b"\n")
            answers = connection.makefile("r", encoding="utf-8")
            pid = None
            try:
                started = json.loads(answers.readline() or "{}")
                if "pid" not in started:
                    raise ServerError(f"the pytest server refused a run: {started}")
                pid = started["pid"]
                line = answers.readline()
            except TimeoutError as error:
                if pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                message = f"pytest {' '.join(args)} in {cwd}: no result in {timeout} s"
                message += f" (stopped: process group {pid})" if pid else ""
                raise ServerError(message) from error
            if not line:  # the child died before it could answer (a crash, a signal)
                raise ServerError(f"pytest {' '.join(args)} in {cwd} ended without a result")
            code = json.loads(line)["exit"]
        return Result(code, out.read_text(errors="replace"), err.read_text(errors="replace"))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()


if __name__ == "__main__":
    serve(sys.argv[1])
