"""Measure what one host of chapter 08 costs per request, and PostgreSQL's commit rate.

    nox -s capacity                   three runs (about 8 minutes): rewrites
                                      captures/capacity.json and captures/capacity.md
    nox -s capacity -- --runs 5       more runs (--rounds: more rounds in each)

(or ``python -m bench.capacity.measure`` from the repository root, in an environment
with bench/requirements.txt installed.)

One gunicorn host serves chapter 08 from its folder, with the chapter's own
gunicorn.conf.py and ONE sync worker (``--workers 1``): what one worker, at most
one core, does. Its database is a new one on the PostgreSQL at
CAPACITY_POSTGRES_URL (default 127.0.0.1:5432), dropped afterwards. Each run has
a new database and a new host; each round of a run visits these jobs in a rotating
order, so a busy moment on the machine hits each alike:

- low load, read and write: wrk with one connection, one request at a time, so no
  request waits for another: W, the time a request holds the worker;
- saturated, read and write: wrk with 8 connections on the one worker: requests
  per second at its limit, and the CPU time per request of gunicorn's processes
  and of the PostgreSQL backends that serve them (read from /proc);
- commits: the app's INSERT into posts alone, one row per transaction, from a
  psycopg loop on 1, 4 and 16 connections: the server's commit rate as configured.

In each run, a warm-up visits every job once before the rounds; it is kept, to
check whether a first visit measures differently. bench/capacity/report.py turns the record
into the tables and the arithmetic of docs/capacity.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.capacity import report
from bench.run import (
    PASSWORD,
    POST_BODY,
    Endpoint,
    children_cpu_seconds,
    cpu_model,
    cpu_seconds,
    seeded_users,
)
from tools.chapters import chapters
from tools.postgres import fresh_database, postgres
from tools.servers import free_port, http, wait_until

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = chapters()["08"]
BIN = Path(sys.executable).parent
LATENCY_SCRIPT = Path(__file__).with_name("latency.lua")
POSTGRES_URL = os.environ.get("CAPACITY_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")

ROUTES = {
    "read": Endpoint("GET", "/api/users"),  # the first page: 20 users
    "write": Endpoint("POST", "/api/posts", POST_BODY, token=True),
}
# wrk connections per load: one request at a time, or a queue in front of the worker.
LOADS = {"low": 1, "saturated": 8}
COMMIT_CONNECTIONS = (1, 4, 16)
COMMIT_LOOP = "capacity-commit-loop"  # application_name of the loop's connections
# Server settings that decide what a commit costs, recorded with the run.
SETTINGS = ("fsync", "synchronous_commit", "wal_sync_method", "commit_delay", "max_connections")
SETTINGS += ("superuser_reserved_connections", "server_version")


def ticks_seconds(pids: list[int]) -> float:
    """CPU time (user + system) used so far by the processes ``pids``; gone ones count 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent on anything but idling, so far."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU time of this process (the commit loop's threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def other_cores(machine: float, own: float, seconds: float) -> float:
    """Cores kept busy by everything but this run's processes, on average over a job."""
    return max(machine - own, 0.0) / seconds


class Database:
    """The run's own database, and a connection on it to look at its backends."""

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy import make_url

        self.url = url  # SQLAlchemy's form, for the app
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.name = make_url(url).database
        self.watch = psycopg.connect(self.dsn, autocommit=True)

    def settings(self) -> dict[str, str]:
        return {name: self.watch.execute(f"SHOW {name}").fetchone()[0] for name in SETTINGS}

    def backends(self) -> list[int]:
        """The server processes serving the app: this database's, less the watcher and the loop."""
        rows = self.watch.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND application_name <> %s",
            (self.name, COMMIT_LOOP),
        )
        return sorted(row[0] for row in rows)

    def wal_syncs(self) -> int:
        """Flushes of the write-ahead log so far, by every database of the server."""
        return int(self.watch.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0])

    def wait_for_loop_to_exit(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
        while self.watch.execute(query, (self.name, COMMIT_LOOP)).fetchone()[0]:
            if time.monotonic() > deadline:
                sys.exit(f"the commit loop's backends still run {timeout} s after it closed them")
            time.sleep(0.05)

    def close(self) -> None:
        self.watch.close()


def insert_statement() -> str:
    """The app's INSERT into posts, from its own model, as psycopg takes it."""
    sys.path.insert(0, str(CHAPTER))
    try:
        from sqlalchemy import bindparam, insert
        from sqlalchemy.dialects.postgresql import psycopg as dialect

        from blog.models import Post
    finally:
        sys.path.remove(str(CHAPTER))
    names = ("user_id", "title", "body")
    statement = insert(Post).values({name: bindparam(name) for name in names})
    return str(statement.compile(dialect=dialect.dialect()))


# -- the host --------------------------------------------------------------------------


class Host:
    """gunicorn serving chapter 08 with its gunicorn.conf.py and one worker."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.env = server_env_for(database_url)
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.token = ""

    def init_db(self) -> None:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "blog", "init-db"],
            cwd=CHAPTER,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"flask init-db failed:\n{done.stdout}{done.stderr}")

    @contextmanager
    def serving(self):
        command = [str(BIN / "gunicorn"), "--config", str(CHAPTER / "gunicorn.conf.py")]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=CHAPTER, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_until(
                lambda: http(self.url + "/readyz", timeout=2)[0] == 200,
                self.process,
                timeout=60,
                log=self.log.read_text,
                what="GET /readyz answering 200",
            )
            yield self
        finally:
            self.process.terminate()  # drains for DRAIN_SECONDS, then stops
            self.process.wait(timeout=60)

    def seed(self) -> None:
        """20 users through the app's own API, then one login, as bench/run.py does."""
        for user in seeded_users():
            fields = {"username": user["username"], "email": user["email"], "password": PASSWORD}
            status, reply = http(self.url + "/api/users", "POST", json.dumps(fields).encode())
            if status != 201:
                sys.exit(f"seeding failed with {status}: {reply[:200]!r}")
        login = json.dumps({"username": "reader01", "password": PASSWORD}).encode()
        status, reply = http(self.url + "/api/auth/login", "POST", login)
        if status != 200:
            sys.exit(f"logging in failed with {status}: {reply[:200]!r}")
        self.token = json.loads(reply)["token"]
        for name, endpoint in ROUTES.items():
            headers = {"Authorization": f"Bearer {self.token}"} if endpoint.token else {}
            body = endpoint.body.encode() if endpoint.body else None
            status, reply = http(self.url + endpoint.path, endpoint.method, body, headers=headers)
            if status != (201 if name == "write" else 200):
                sys.exit(f"{endpoint.method} {endpoint.path} gave {status}: {reply[:200]!r}")


def server_env_for(database_url: str) -> dict[str, str]:
    settings = {
        "FLASK_SECRET_KEY": "capacity-benchmark-only-secret",
        "FLASK_DATABASE_URL": database_url,
        "DRAIN_SECONDS": "0",  # nothing to drain for when the run is over
    }
    # Nothing from the caller's shell may change the settings under test.
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLASK_", "BLOG_", "GUNICORN_"))
        and name not in ("WEB_CONCURRENCY", "PYTHONPATH", "DRAIN_SECONDS")
    }
    return {**keep, **settings}


# -- the jobs --------------------------------------------------------------------------


def wrk_command(host: Host, route: str, load: str, seconds: int) -> list[str]:
    endpoint = ROUTES[route]
    connections = LOADS[load]
    command = ["wrk", "--threads", str(min(connections, 2)), "--connections", str(connections)]
    command += ["--duration", f"{seconds}s", "--timeout", "10s", "--script", str(LATENCY_SCRIPT)]
    if endpoint.token:
        command += ["--header", f"Authorization: Bearer {host.token}"]
    command += [host.url + endpoint.path, "--", endpoint.method]
    command += [endpoint.body] if endpoint.body else []
    return command


def run_wrk(host: Host, database: Database, route: str, load: str, seconds: int) -> dict:
    """One wrk run; with the CPU time of gunicorn's processes and of the app's backends."""
    command = wrk_command(host, route, load, seconds)
    backends = database.backends()
    app_before, db_before = cpu_seconds(host.process.pid), ticks_seconds(backends)
    wrk_before, machine_before = children_cpu_seconds(), machine_busy_seconds()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    app_cpu = cpu_seconds(host.process.pid) - app_before
    db_cpu = ticks_seconds(backends) - db_before
    own = app_cpu + db_cpu + children_cpu_seconds() - wrk_before
    machine = machine_busy_seconds() - machine_before
    lines = [line for line in output.splitlines() if line.startswith("CAPACITY ")]
    if len(lines) != 1:
        sys.exit(f"expected one CAPACITY line from {LATENCY_SCRIPT.name}:\n{output}")
    result = json.loads(lines[0].removeprefix("CAPACITY "))
    answered = max(result["requests"], 1)
    result["per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    result["app_cpu_us"] = app_cpu * 1e6 / answered
    result["db_cpu_us"] = db_cpu * 1e6 / answered
    # A backend that came or went during the run would leave its CPU time out.
    result["backends_changed"] = backends != database.backends()
    result["other_cores"] = other_cores(machine, own, result["duration_us"] / 1e6)
    result["app_connections"] = len(backends)
    return result


def commits(database: Database, statement: str, connections: int, seconds: int) -> dict:
    """INSERT one post and COMMIT, in a loop, on ``connections`` connections at once."""
    import psycopg

    # Named, so that Database.backends() counts the app's connections without them.
    opened = [
        psycopg.connect(database.dsn, application_name=COMMIT_LOOP) for _ in range(connections)
    ]
    counts = [0] * connections
    row = {"user_id": 1, "title": "Load test", "body": "Written by the commit loop."}
    start = threading.Barrier(connections + 1)
    deadline = 0.0

    def loop(n: int) -> None:
        connection, done = opened[n], 0
        start.wait()
        while time.monotonic() < deadline:
            connection.execute(statement, row)
            connection.commit()
            done += 1
        counts[n] = done

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(connections)]
    try:
        for thread in threads:
            thread.start()
        pids = [connection.info.backend_pid for connection in opened]
        db_before, syncs_before = ticks_seconds(pids), database.wal_syncs()
        own_before, machine_before = own_seconds(), machine_busy_seconds()
        began = time.monotonic()
        deadline = began + seconds
        start.wait()
        for thread in threads:
            thread.join()
        took = time.monotonic() - began
        db_cpu = ticks_seconds(pids) - db_before
        own = db_cpu + own_seconds() - own_before
        machine = machine_busy_seconds() - machine_before
    finally:
        for connection in opened:
            connection.close()
    # A backend hands its counts to pg_stat_wal at the latest when it exits.
    database.wait_for_loop_to_exit()
    syncs = database.wal_syncs() - syncs_before
    total = max(sum(counts), 1)
    return {
        "commits": sum(counts),
        "per_s": sum(counts) / took,
        "db_cpu_us": db_cpu * 1e6 / total,
        # Other databases' flushes count too: an upper bound of the loop's own.
        "wal_syncs_per_commit": syncs / total,
        "other_cores": other_cores(machine, own, took),
    }


def rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="each with a new host and database")
    parser.add_argument("--rounds", type=int, default=3, help="per run")
    parser.add_argument("--duration", type=int, default=5, help="seconds per job and round")
    parser.add_argument("--warmup", type=int, default=3, help="seconds per job, before round 1")
    parser.add_argument("--out", type=Path, default=report.CAPTURE, help="the .json; .md beside")
    return parser.parse_args(argv)


def measure_once(args: argparse.Namespace, server_url: str) -> dict[str, Any]:
    """One run: a new database and a new host, a warm-up, then the rounds."""
    jobs = [("wrk", route, load) for load in LOADS for route in ROUTES]
    jobs += [("commits", "insert", str(n)) for n in COMMIT_CONNECTIONS]
    load_before = Path("/proc/loadavg").read_text().split()[0]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="capacity-")))
        url = stack.enter_context(fresh_database(server_url))
        host = Host(url, tmp / "gunicorn.log")
        host.init_db()
        database = Database(url)
        stack.callback(database.close)
        settings = database.settings()
        statement = insert_statement()
        stack.enter_context(host.serving())
        host.seed()

        def job(kind: str, what: str, load: str, seconds: int) -> dict:
            if kind == "wrk":
                return run_wrk(host, database, what, load, seconds)
            return commits(database, statement, int(load), seconds)

        names = ["/".join(j) for j in jobs]
        warmup = {name: job(*j, args.warmup) for name, j in zip(names, jobs, strict=True)}
        rounds: dict[str, list[dict]] = {name: [] for name in names}
        orders = []
        for n in range(args.rounds):
            order = rotated(list(zip(names, jobs, strict=True)), n * 2)
            orders.append([name for name, _ in order])
            for name, j in order:
                rounds[name].append(job(*j, args.duration))
            print(f"round {n + 1}/{args.rounds} done", flush=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_before,
        "load_after": Path("/proc/loadavg").read_text().split()[0],
        "settings": settings,
        "orders": orders,
        "warmup": warmup,
        "rounds": rounds,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Several runs, one after the other; the record of them all."""
    with postgres(POSTGRES_URL) as server:
        print(server, file=sys.stderr)
        runs = []
        for n in range(args.runs):
            print(f"run {n + 1}/{args.runs}", flush=True)
            runs.append(measure_once(args, server.url))
    settings = runs[0].pop("settings")
    for run in runs[1:]:
        if run.pop("settings") != settings:
            sys.exit("PostgreSQL's settings changed between runs")
    return {
        "meta": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "versions": {name: version(name) for name in ("Flask", "SQLAlchemy", "gunicorn")}
            | {"psycopg": version("psycopg"), "PostgreSQL": settings["server_version"]},
            "postgres": {k: v for k, v in settings.items() if k != "server_version"},
            "gunicorn_workers": report.chapter_workers(),
            "rounds": args.rounds,
            "seconds": args.duration,
            "warmup_seconds": args.warmup,
            "loads": LOADS,
            "digest": report.digest(),
        },
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    started = time.monotonic()
    run = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(run, indent=1) + "\n")
    text = report.render(run)
    args.out.with_suffix(".md").write_text(text)
    print(text)
    print(f"Wrote {args.out} and its .md in {time.monotonic() - started:.0f} s.")
    problems = report.problems(run)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
