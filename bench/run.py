"""Load benchmark: bare Flask, then chapters 01, 02 and 03, under the same gunicorn.

    nox -s bench                    the full run (about 5 minutes), writes captures/bench.md
    nox -s bench -- --quick         a smoke run of a few seconds per app, written to /tmp
    nox -s bench -- --no-postgres   skip the PostgreSQL rows

Every app runs from its own folder (``gunicorn --chdir``, since chapters 02 and
03 both call their package ``blog``) with the settings in bench/gunicorn.conf.py.
The load comes from Debian's ``wrk`` in a second process on loopback: first a
warm-up, then several rounds that visit the apps in a rotating order, so that a
busy moment on the machine hits every app alike. The table reports medians over
the rounds, each app's ratio to the bare hello world in the same round, and the
CPU time its gunicorn processes spent per request.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
GUNICORN_CONF = ROOT / "bench/gunicorn.conf.py"
WRK_SCRIPT = ROOT / "bench/wrk.lua"
BENCH_APPS = ROOT / "bench/apps"  # the extra apps that split the cost into layers
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")

USERS = 20  # rows behind every "list users" request
POST_BODY = json.dumps({"title": "Load test", "body": "Written by the benchmark."})


@dataclass
class App:
    key: str
    label: str
    folder: Path  # gunicorn --chdir: the app's imports resolve from here
    target: str  # what gunicorn serves, module:variable
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    init: list[str] | None = None  # the chapter's own command that creates the tables
    sqlite_file: Path | None = None
    read: str = "/users"
    write: bool = True
    pythonpath: Path | None = None
    port: int = 0
    pid: int = 0  # the gunicorn master

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoints(self) -> dict[str, tuple[str, str, str | None]]:
        """name -> (method, path, body)."""
        endpoints = {"read": ("GET", self.read, None)}
        if self.write:
            endpoints["write"] = ("POST", "/users/1/posts", POST_BODY)
        return endpoints


def define_apps(tmp: Path, postgres_url: str | None) -> list[App]:
    """The issue's (a) to (d), plus rows that split the cost into layers."""
    ch01, ch03 = CHAPTERS / "01-minimal", CHAPTERS / "03-plain-sqlalchemy"

    def blog(key, label, folder=ch03, workers=2, url="", target="blog.wsgi:app", **kw) -> App:
        sqlite_file = None if url else tmp / f"{key.replace('′', '-prime')}.sqlite"
        env = {
            "FLASK_SECRET_KEY": "benchmark-only-secret",
            "FLASK_DATABASE_URL": url or f"sqlite:///{sqlite_file}",
        }
        init = ["flask", "--app", "blog", "init-db"]
        return App(key, label, folder, target, workers, env, init, sqlite_file, **kw)

    b_file = tmp / "b.sqlite"
    apps = [
        App("a", "bare Flask, `hello.py`", ch01, "hello:app", read="/", write=False),
        App("a′", "bare Flask, constant JSON", BENCH_APPS, "static_users:app", write=False),
        App(
            "b",
            "01 sqlite3",
            ch01,
            "app:app",
            env={"BLOG_DATABASE": str(b_file)},
            init=["flask", "--app", "app", "init-db"],
            sqlite_file=b_file,
        ),
        blog("c", "02 Flask-SQLAlchemy", CHAPTERS / "02-factory"),
        blog("d", "03 plain SQLAlchemy"),
        blog(
            "d′",
            "03, ORM objects",
            target="orm_users:app",
            pythonpath=BENCH_APPS,
            read="/users-as-objects",
            write=False,
        ),
        blog("e", "03, 4 workers", workers=4),
    ]
    if postgres_url:
        apps.append(blog("f", "03, PostgreSQL, 4 workers", workers=4, url=postgres_url))
    return apps


# -- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str = "GET", body: str | None = None) -> tuple[int | None, bytes]:
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method)
    if body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()
    except OSError:
        return None, b""


def server_env(app: App) -> dict[str, str]:
    # Nothing from the caller's shell may change the settings under test.
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "BLOG_", "GUNICORN_")) and k != "WEB_CONCURRENCY"
    }
    return {**keep, **app.env}


@contextmanager
def serving(app: App, logs: Path):
    """Create the app's tables with its own CLI, start gunicorn, stop it afterwards."""
    env = server_env(app)
    if app.init:
        command = [str(BIN / app.init[0]), *app.init[1:]]
        done = subprocess.run(command, cwd=app.folder, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{app.key}: {' '.join(app.init)} failed:\n{done.stderr}")
    app.port = free_port()
    log = logs / f"gunicorn-{app.key}.log"
    command = [
        str(BIN / "gunicorn"),
        *("--config", str(GUNICORN_CONF), "--chdir", str(app.folder)),
        *("--bind", f"127.0.0.1:{app.port}", "--workers", str(app.workers)),
        *(("--pythonpath", str(app.pythonpath)) if app.pythonpath else ()),
        app.target,
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    app.pid = process.pid
    try:
        deadline = time.monotonic() + 30
        while call(app.url + "/")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{app.key}: gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield app
    finally:
        process.terminate()
        process.wait(timeout=30)


def seed_and_check(app: App) -> bytes | None:
    """Add USERS users through the app's own API; return its list of users."""
    if app.read == "/":  # the hello world lists nothing
        return None
    if app.init:  # a database app: the constant-JSON app has its users built in
        for n in range(1, USERS + 1):
            name = f"reader{n:02d}"
            body = json.dumps({"username": name, "email": f"{name}@example.com"})
            status, reply = call(app.url + "/users", "POST", body)
            if status != 201:
                sys.exit(f"{app.key}: seeding failed with {status}: {reply[:200]!r}")
    status, listing = call(app.url + app.read)
    if status != 200 or len(json.loads(listing)) != USERS:
        sys.exit(f"{app.key}: GET {app.read} gave {status}, expected {USERS} users")
    if app.write:
        status, reply = call(app.url + "/users/1/posts", "POST", POST_BODY)
        if status != 201:
            sys.exit(f"{app.key}: POST /users/1/posts gave {status}: {reply[:200]!r}")
    if app.sqlite_file:
        with sqlite3.connect(app.sqlite_file) as connection:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            sys.exit(f"{app.key}: init-db left the SQLite file in {mode!r} mode, not WAL")
    return listing


@contextmanager
def postgres_schema(url: str):
    """A fresh schema for the PostgreSQL rows, dropped afterwards."""
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


# -- load ------------------------------------------------------------------------------


def cpu_seconds(app: App) -> float:
    """CPU time used so far by the app's gunicorn master and its workers."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if app.pid in (int(stat.parent.name), int(fields[1])):  # itself, or its parent
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(app: App, endpoint: str, seconds: int, args: argparse.Namespace) -> dict:
    method, path, body = app.endpoints[endpoint]
    command = [
        "wrk",
        *("--threads", str(args.threads), "--connections", str(args.connections)),
        *("--duration", f"{seconds}s", "--timeout", "10s", "--script", str(WRK_SCRIPT)),
        app.url + path,
        *("--", method, *([body] if body else [])),
    ]
    cpu_before = cpu_seconds(app)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(app) - cpu_before
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    result = json.loads(line.removeprefix("BENCH "))
    ok = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    result["ok_per_s"] = ok / (result["duration_us"] / 1e6)
    result["cpu_us"] = cpu * 1e6 / max(result["requests"], 1)
    result["failures"] = {
        **{f"HTTP {s}": n for s, n in result["statuses"].items() if not s.startswith("2")},
        **{k: result[k] for k in ("connect", "read", "write", "timeout") if result[k]},
    }
    return result


def rotated(items: list, shift: int) -> list:
    shift %= len(items)
    return items[shift:] + items[:shift]


# -- report ----------------------------------------------------------------------------


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    parts = [
        f"{os.cpu_count()} cores",
        model.group(1).strip() if model else platform.machine(),
        f"{int(memory.group(1)) / 1024**2:.0f} GiB RAM" if memory else "",
        f"Linux {platform.release()}",
    ]
    return ", ".join(p for p in parts if p)


def versions(postgres: str | None) -> str:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    wrk_version = re.search(r"(\d+\.\d+\.\d+)", wrk_version)
    names = ["Flask", "Werkzeug", "SQLAlchemy", "Flask-SQLAlchemy", "gunicorn", "psycopg"]
    parts = [f"Python {platform.python_version()}", *(f"{n} {version(n)}" for n in names)]
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if postgres:
        parts.append(f"PostgreSQL {postgres}")
    parts.append(f"wrk {wrk_version.group(1) if wrk_version else '?'}")
    return " · ".join(parts)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def paired(runs: list[dict], others: list[dict], key: str = "ok_per_s") -> list[float]:
    """Round by round ratios: each run against the other app's run in the same round."""
    return [run[key] / other[key] for run, other in zip(runs, others, strict=True)]


def failures_text(failures: dict[str, int]) -> str:
    if not failures:
        return "0"
    return ", ".join(f"{n} × {kind}" for kind, n in sorted(failures.items()))


def report(apps, results, failures, args, meta) -> tuple[str, bool]:
    def runs(key: str, endpoint: str = "read") -> list[dict]:
        return results[(key, endpoint)]

    def table(endpoint: str) -> list[str]:
        lines = [
            "| app | req/s | × (a) | rounds | CPU µs | p50 / p99 ms |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for app in apps:
            if endpoint in app.endpoints:
                these = runs(app.key, endpoint)
                ratios = paired(these, runs("a"))
                lines.append(
                    f"| ({app.key}) {app.label} | {median(these, 'ok_per_s'):,.0f} "
                    f"| **{statistics.median(ratios):.2f}** "
                    f"| {min(ratios):.2f}–{max(ratios):.2f} "
                    f"| {median(these, 'cpu_us'):,.0f} "
                    f"| {median(these, 'p50_us') / 1000:.1f} / "
                    f"{median(these, 'p99_us') / 1000:.1f} |"
                )
        return lines

    failed = [
        f"({key}) {endpoint}: {failures_text(kinds)}"
        for (key, endpoint), kinds in failures.items()
        if kinds
    ]

    def compare(text: str, new: tuple[str, str], old: tuple[str, str]) -> str:
        """One layer: throughput ratio and extra CPU per request of `new` over `old`."""
        rate = statistics.median(paired(runs(*new), runs(*old)))
        cpu = median(runs(*new), "cpu_us") - median(runs(*old), "cpu_us")
        return f"- {text}: {rate:.2f} × the requests/s, {cpu:+,.0f} µs CPU per request"

    layers = [
        compare("JSON of 20 users, (a′) against (a)", ("a′", "read"), ("a", "read")),
        compare("reading them from SQLite, (d) against (a′)", ("d", "read"), ("a′", "read")),
        compare("as ORM objects, (d′) against (d)", ("d′", "read"), ("d", "read")),
        compare("Flask-SQLAlchemy, (c) against (d)", ("c", "read"), ("d", "read")),
        compare("a connection per request, (b) against (d)", ("b", "read"), ("d", "read")),
        compare("writing instead of reading, (d)", ("d", "write"), ("d", "read")),
        compare("4 workers instead of 2, reads, (e) against (d)", ("e", "read"), ("d", "read")),
        compare("4 workers instead of 2, writes, (e) against (d)", ("e", "write"), ("d", "write")),
    ]
    if any(app.key == "f" for app in apps):
        layers += [
            compare(
                "PostgreSQL instead of SQLite, reads, (f) against (e)", ("f", "read"), ("e", "read")
            ),
            compare(
                "PostgreSQL instead of SQLite, writes, (f) against (e)",
                ("f", "write"),
                ("e", "write"),
            ),
        ]

    # Targets of issue 5. 02 and 03 now read the list the same way, so "not slower"
    # has to allow for noise: 03 passes when its median requests/s is at most 3 %
    # below 02's, or when it spends at most 3 % more CPU per request.
    read_ratio = statistics.median(paired(runs("d"), runs("a")))
    d_over_c = paired(runs("d"), runs("c"))
    cpu_d_over_c = median(runs("d"), "cpu_us") / median(runs("c"), "cpu_us")
    write_errors = sum(sum(failures[(k, "write")].values()) for k in ("b", "c", "d", "e"))
    if statistics.median(d_over_c) >= 1:
        verdict = "met"
    elif statistics.median(d_over_c) >= 0.97 or cpu_d_over_c <= 1.03:
        verdict = "met within noise (3 %)"
    else:
        verdict = "NOT met"
    targets = [
        f"{'met' if read_ratio >= 0.6 else 'NOT met'}: 03 read ≥ 0.6 × bare Flask: "
        f"{read_ratio:.2f} ×",
        f"{verdict}: 03 read not slower than 02: 03 / 02 = {statistics.median(d_over_c):.2f} "
        f"in requests/s (rounds {min(d_over_c):.2f}–{max(d_over_c):.2f}), "
        f"{cpu_d_over_c:.2f} in CPU per request",
        f"{'met' if write_errors == 0 else 'NOT met'}: SQLite writes from "
        f"{args.connections} concurrent clients without errors: {write_errors} failed",
    ]

    total_failures = sum(sum(f.values()) for f in failures.values())
    lines = [
        "<!-- Written by `nox -s bench` (bench/run.py). Do not edit by hand. -->",
        "",
        f"**Run:** {meta['date']}, on {meta['machine']}; "
        f"1-minute load average {meta['load_before']} before the run, "
        f"{meta['load_after']} at its end (the benchmark itself keeps both cores busy).",
        "",
        f"**Versions:** {meta['versions']}.",
        "",
        f"**Settings:** gunicorn sync workers with `bench/gunicorn.conf.py`; "
        f"wrk with {args.threads} threads and {args.connections} connections on loopback; "
        f"{args.warmup:g} s warm-up per app and endpoint, then {args.rounds} rounds of "
        f"{args.duration:g} s, apps in rotating order; {USERS} users in every database; "
        "each write adds a post to user 1.",
        "",
        f"**Reads**, `GET /users` ({USERS} users as JSON; (a) answers `GET /` with a short text):",
        "",
        *table("read"),
        "",
        "**Writes**, `POST /users/1/posts` (validate, insert, commit, answer with the post):",
        "",
        *table("write"),
        "",
        "*req/s* counts 2xx answers only, median over the rounds. *× (a)* is the median of "
        "each round's ratio to (a) in the same round; *rounds* shows the lowest and highest "
        "round. *CPU µs* is the CPU time of the app's gunicorn processes (master and "
        "workers, not wrk, not PostgreSQL) per request they answered: it changes less than "
        "requests/s when other work shares the machine.",
        "",
        "**Failed requests** (every non-2xx answer and socket error, warm-up included): "
        + ("; ".join(failed) if failed else "none")
        + ".",
        "",
        "**Layer by layer** (medians of the round-by-round ratios):",
        "",
        *layers,
        "",
        "**Targets of issue 5:**",
        "",
        *(f"- {t}" for t in targets),
        "",
    ]
    return "\n".join(lines), total_failures == 0


# -- main ------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per app and endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None, help="default: captures/bench.md")
    parser.add_argument("--quick", action="store_true", help="2 short rounds, output in /tmp")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup = 2, 1, 1
        args.out = args.out or Path(tempfile.gettempdir()) / "bench.md"
    args.out = args.out or ROOT / "captures/bench.md"
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    load_before = load_average()
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        postgres_url, postgres_version = None, None
        if not args.no_postgres:
            postgres_url, postgres_version = stack.enter_context(postgres_schema(POSTGRES_URL))
        apps = define_apps(tmp, postgres_url)
        listings = {}
        for app in apps:
            stack.enter_context(serving(app, tmp))
            listings[app.key] = seed_and_check(app)
            print(f"({app.key}) {app.label}, {app.workers} workers: {app.url}", flush=True)
        # Every app that lists users must send the very same bytes.
        if len({body for body in listings.values() if body is not None}) != 1:
            sys.exit("The apps list the users differently; the comparison would be unfair.")

        jobs = [(app, endpoint) for app in apps for endpoint in app.endpoints]
        failures = {(app.key, endpoint): {} for app, endpoint in jobs}
        results = {(app.key, endpoint): [] for app, endpoint in jobs}

        def record(app, endpoint, result):
            for kind, n in result["failures"].items():
                bucket = failures[(app.key, endpoint)]
                bucket[kind] = bucket.get(kind, 0) + n

        print(f"warm-up: {args.warmup:g} s per app and endpoint", flush=True)
        for app, endpoint in jobs:
            record(app, endpoint, wrk(app, endpoint, args.warmup, args))
        for n in range(args.rounds):
            for app, endpoint in rotated(jobs, n * 3):
                result = wrk(app, endpoint, args.duration, args)
                record(app, endpoint, result)
                results[(app.key, endpoint)].append(result)
            rates = " ".join(f"{k}/{e} {r[-1]['ok_per_s']:.0f}" for (k, e), r in results.items())
            print(f"round {n + 1}/{args.rounds}, 2xx/s: {rates}", flush=True)

    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(postgres_version),
        "load_before": load_before,
        "load_after": load_average(),
    }
    text, clean = report(apps, results, failures, args, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    raw = {f"{key}/{endpoint}": runs for (key, endpoint), runs in results.items()}
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "runs": raw}, indent=1))
    print()
    print(text)
    print(f"Wrote {args.out} in {time.monotonic() - started:.0f} s.")
    if not clean:
        print("Some requests failed: see Failed requests in the report.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
