"""Turn a capacity run (captures/capacity.json) into captures/capacity.md.

    python -m bench.capacity.report     rewrite captures/capacity.md from the .json

The arithmetic of docs/capacity.md is done here, from the measured figures only:
Little's law for the workers a load keeps busy, CPU time per request for the
cores, and for each share of writes the load at which each part of the single
database runs out. Standard library only: tests/test_capacity_capture.py imports it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import runpy
import statistics
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "captures" / "capacity.json"
CHAPTER = ROOT / "chapters" / "08-hosts"
# What the run measured: the measuring code and the chapter's app. Not this file:
# it only reads the record, and the test checks its output against the record.
HERE = Path(__file__).resolve().parent
MEASURED = (
    *sorted(path for path in HERE.iterdir() if path.name != "report.py"),
    CHAPTER / "blog",
    CHAPTER / "gunicorn.conf.py",
)

# The worked example: a target load, and shares of writes in it.
TARGET = 1000  # requests per second
WRITE_SHARES = (0.05, 0.2, 0.5)


def digest() -> str:
    """One digest of every file the run measured: a capture names the code it measured."""
    sha = hashlib.sha256()
    for top in MEASURED:
        files = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                sha.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


def chapter_workers() -> int:
    """The worker count chapter 08's gunicorn.conf.py sets when WEB_CONCURRENCY is unset."""
    saved = os.environ.pop("WEB_CONCURRENCY", None)
    try:
        return int(runpy.run_path(str(CHAPTER / "gunicorn.conf.py"))["workers"])
    finally:
        if saved is not None:
            os.environ["WEB_CONCURRENCY"] = saved


# -- figures -----------------------------------------------------------------------------


def rounds(run: dict, job: str) -> list[dict]:
    """Every round of ``job``, in every run."""
    return [result for one in run["runs"] for result in one["rounds"][job]]


def figure(run: dict, job: str, key: str) -> dict[str, float]:
    """The median of a job's rounds for ``key``, every run's, with the smallest and largest."""
    values = [result[key] for result in rounds(run, job)]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def figures(run: dict) -> dict[str, Any]:
    """The measured inputs of the arithmetic, medians of the rounds."""
    f: dict[str, Any] = {}
    for route in ("read", "write"):
        low, saturated = f"wrk/{route}/low", f"wrk/{route}/saturated"
        f[route] = {
            "w_us": figure(run, low, "mean_us"),
            "p50_us": figure(run, low, "p50_us"),
            "p95_us": figure(run, low, "p95_us"),
            "per_s": figure(run, saturated, "per_s"),
            "saturated_w_us": figure(run, saturated, "mean_us"),
            "app_cpu_us": figure(run, saturated, "app_cpu_us"),
            "db_cpu_us": figure(run, saturated, "db_cpu_us"),
        }
    jobs = list(run["runs"][0]["rounds"])
    commit_jobs = [job for job in jobs if job.startswith("commits/")]
    f["commits"] = {
        int(job.rsplit("/", 1)[1]): {
            "per_s": figure(run, job, "per_s"),
            "db_cpu_us": figure(run, job, "db_cpu_us"),
            "wal_syncs_per_commit": figure(run, job, "wal_syncs_per_commit"),
        }
        for job in commit_jobs
    }
    f["commit_ceiling"] = max(c["per_s"]["median"] for c in f["commits"].values())
    wrk_jobs = [job for job in jobs if job.startswith("wrk/")]
    f["connections_per_worker"] = max(
        r["app_connections"] for j in wrk_jobs for r in rounds(run, j)
    )
    postgres = run["meta"]["postgres"]
    f["usable_connections"] = int(postgres["max_connections"]) - int(
        postgres["superuser_reserved_connections"]
    )
    return f


def plan(run: dict, share: float, load: float = TARGET) -> dict[str, float]:
    """What ``load`` requests/s with ``share`` writes needs, and where each limit lies."""
    f = figures(run)
    per_host = run["meta"]["gunicorn_workers"]
    db_cores = run["meta"]["cores"]

    def mix(key: str) -> float:  # seconds per request, for the mix of reads and writes
        return ((1 - share) * f["read"][key]["median"] + share * f["write"][key]["median"]) / 1e6

    w, app_cpu, db_cpu = mix("w_us"), mix("app_cpu_us"), mix("db_cpu_us")
    busy = load * w  # Little's law: workers held at once
    hosts = math.ceil(busy / per_host)
    max_hosts = f["usable_connections"] // (per_host * f["connections_per_worker"])
    limits = {
        "database CPU": db_cores / db_cpu,
        "commit rate": f["commit_ceiling"] / share,
        "connections": max_hosts * per_host / w,
    }
    return {
        "share": share,
        "w_ms": w * 1e3,
        "busy_workers": busy,
        "hosts": hosts,
        "app_cores": load * app_cpu,
        "connections": hosts * per_host * f["connections_per_worker"],
        "db_cores": load * db_cpu,
        "commits": load * share,
        "max_hosts": max_hosts,
        **{f"limit {name}": value for name, value in limits.items()},
        "first": min(limits, key=limits.get),
    }


def first_visit_outside(run: dict) -> list[str]:
    """The warm-ups and first rounds (medians over the runs) outside their job's rounds."""
    outside = []
    for job in run["runs"][0]["rounds"]:
        low, high = figure(run, job, "per_s")["min"], figure(run, job, "per_s")["max"]
        for name, key in (("warm-up", "warmup"), ("round 1", "rounds")):
            picks = [one[key][job] if key == "warmup" else one[key][job][0] for one in run["runs"]]
            median = statistics.median(r["per_s"] for r in picks)
            if not low <= median <= high:
                outside.append(f"{job} {name} ({rate(median)})")
    return outside


def problems(run: dict) -> list[str]:
    """What makes a run's figures wrong: failed requests, or backends whose CPU went uncounted."""
    found = []
    for number, one in enumerate(run["runs"], 1):
        found += problems_of_run(one, f"run {number}")
    return found


def problems_of_run(one: dict, which: str) -> list[str]:
    found = []
    for job, results in one["rounds"].items():
        for n, result in enumerate([one["warmup"][job], *results]):
            when = f"{which}, {job}, {'warm-up' if n == 0 else f'round {n}'}"
            statuses = result.get("statuses", {})
            failed = {s: c for s, c in statuses.items() if not s.startswith("2")}
            if failed or result.get("socket_errors"):
                found.append(f"{when}: answers {failed}, socket errors {result['socket_errors']}")
            if result.get("backends_changed"):
                found.append(f"{when}: the app's PostgreSQL backends changed during the job")
    return found


# -- markdown ----------------------------------------------------------------------------


def us(value: float) -> str:
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def spread(fig: dict[str, float], show=us) -> str:
    return f"{show(fig['median'])} ({show(fig['min'])}–{show(fig['max'])})"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def render(run: dict) -> str:
    meta, f = run["meta"], figures(run)
    pg = meta["postgres"]
    per_host = meta["gunicorn_workers"]
    versions = " · ".join(f"{name} {v}" for name, v in meta["versions"].items())
    connections = meta["loads"]["saturated"]
    runs = run["runs"]
    lines = [
        f"Measured {runs[0]['date']} to {runs[-1]['date']} on {meta['cores']} cores "
        f"({meta['cpu']}) that gunicorn, PostgreSQL and wrk share with other jobs. "
        f"{versions}. PostgreSQL as configured: fsync {pg['fsync']}, synchronous_commit "
        f"{pg['synchronous_commit']}, wal_sync_method {pg['wal_sync_method']}, commit_delay "
        f"{pg['commit_delay']}, max_connections {pg['max_connections']}. Chapter 08 under "
        "gunicorn with its gunicorn.conf.py and one sync worker. "
        f"{len(runs)} runs, each with a new database and host, of {meta['rounds']} rounds "
        f"of {meta['seconds']} s per job in rotating order: medians of all "
        f"{len(runs) * meta['rounds']} rounds, smallest and largest in brackets. "
        f"Code digest {meta['digest'][:12]}.",
        "",
        "**One worker, per request.** W: the mean time a request takes with one "
        "request at a time (wrk, 1 connection). Saturated: wrk with "
        f"{connections} connections on the one worker; CPU time per request of gunicorn's "
        "processes and of the PostgreSQL backends serving them, from `/proc`.",
        "",
        "| route | W, mean | p50 | p95 | requests/s, saturated | app CPU per request "
        "| PostgreSQL CPU per request |",
        "|---|---|---|---|---|---|---|",
    ]
    for route, label in (("read", "`GET /api/users`"), ("write", "`POST /api/posts`")):
        r = f[route]
        lines.append(
            f"| {label} | {spread(r['w_us'])} | {spread(r['p50_us'])} | {spread(r['p95_us'])} "
            f"| {spread(r['per_s'], rate)} | {spread(r['app_cpu_us'])} "
            f"| {spread(r['db_cpu_us'])} |"
        )
    lines += [
        "",
        f"**Little's law, checked.** Saturated, {connections} requests are always in the "
        "system, so requests/s × the mean time each took must come out near "
        f"{connections}:",
        "",
        "| route | requests/s | mean time, saturated | L = λ × W |",
        "|---|---|---|---|",
    ]
    for route in ("read", "write"):
        r = f[route]
        product = r["per_s"]["median"] * r["saturated_w_us"]["median"] / 1e6
        lines.append(
            f"| {route} | {rate(r['per_s']['median'])} | {us(r['saturated_w_us']['median'])} "
            f"| {product:.1f} |"
        )
    lines += [
        "",
        "**PostgreSQL's commit rate.** The app's own INSERT into posts, one row per "
        "transaction, from a psycopg loop; CPU time of its backends per commit; flushes "
        "of the write-ahead log (`pg_stat_wal.wal_sync`) per commit, counting every "
        "database's: at most that many are the loop's.",
        "",
        "| connections | commits/s | PostgreSQL CPU per commit | WAL flushes per commit |",
        "|---|---|---|---|",
    ]
    for n, c in sorted(f["commits"].items()):
        flushes = spread(c["wal_syncs_per_commit"], lambda v: f"{v:.2f}")
        lines.append(f"| {n} | {spread(c['per_s'], rate)} | {spread(c['db_cpu_us'])} | {flushes} |")
    lines += [
        "",
        "**Run by run.** The median of each run's rounds, and the cores that everything "
        "else on the machine kept busy meanwhile (its busy time from `/proc/stat`, less "
        "this run's processes; median over the run's jobs).",
        "",
        "| run | read, requests/s saturated | write, requests/s saturated | commits/s, "
        f"{max(f['commits'])} connections | other load, cores |",
        "|---|---|---|---|---|",
    ]
    busiest = f"commits/insert/{max(f['commits'])}"
    for n, one in enumerate(runs, 1):

        def median(job: str, key: str = "per_s", one: dict = one) -> float:
            return statistics.median(r[key] for r in one["rounds"][job])

        others = statistics.median(median(job, "other_cores") for job in one["rounds"])
        lines.append(
            f"| {n}, {one['date'][11:]} | {rate(median('wrk/read/saturated'))} "
            f"| {rate(median('wrk/write/saturated'))} "
            f"| {rate(median(busiest))} | {others:.1f} |"
        )
    lines += [
        "",
        "**First visit.** Requests or commits per second in each run's warm-up (the first "
        f"{meta['warmup_seconds']} s of each job after the host started), in its first "
        "round, and in its later rounds, medians over the runs; beside each, the other "
        "load on the machine meanwhile, in cores.",
        "",
        "| job | warm-up | round 1 | later rounds | other load: warm-up | round 1 | later |",
        "|---|---|---|---|---|---|---|",
    ]
    for job in runs[0]["rounds"]:
        warm = [one["warmup"][job] for one in runs]
        first = [one["rounds"][job][0] for one in runs]
        later = [r for one in runs for r in one["rounds"][job][1:]]
        groups = (warm, first, later)
        cells = [rate(statistics.median(r["per_s"] for r in g)) if g else "–" for g in groups]
        cells += [
            f"{statistics.median(r['other_cores'] for r in g):.1f}" if g else "–" for g in groups
        ]
        lines.append(f"| {job} | " + " | ".join(cells) + " |")
    outside = first_visit_outside(run)
    lines += [
        "",
        "Every job's warm-up and first round (medians over the runs) lie within the "
        "smallest and largest of its rounds."
        if not outside
        else "Outside the smallest and largest of the job's rounds: " + ", ".join(outside) + ".",
    ]
    plans = [plan(run, share) for share in WRITE_SHARES]
    lines += [
        "",
        f"**{TARGET:,} requests/s on paper.** Workers busy = λ × W (the mix's mean W); "
        f"hosts at {per_host} workers each; {f['connections_per_worker']} database "
        f"connection per worker (the most the one worker held); of {pg['max_connections']} "
        f"connections, {f['usable_connections']} are open to the app (the rest are reserved "
        "for superusers). Cores: λ × CPU time per request.",
        "",
        "| writes | W | workers busy | hosts | app cores | DB connections | DB cores | commits/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in plans:
        lines.append(
            f"| {percent(p['share'])} | {p['w_ms']:.2f} ms | {p['busy_workers']:.1f} "
            f"| {p['hosts']} | {p['app_cores']:.1f} | {p['connections']} of "
            f"{f['usable_connections']} | {p['db_cores']:.1f} | {rate(p['commits'])} of "
            f"{rate(f['commit_ceiling'])} |"
        )
    lines += [
        "",
        "**Where the database runs out.** The load, in requests/s, at which each limit "
        f"is reached: its CPU ({meta['cores']} cores, as here), its commit rate (the best "
        "of the loop's rows), its connections (that many hosts, each worker held as W says).",
        "",
        "| writes | database CPU | commit rate | connections (hosts) | first |",
        "|---|---|---|---|---|",
    ]
    for p in plans:
        lines.append(
            f"| {percent(p['share'])} | {rate(p['limit database CPU'])} "
            f"| {rate(p['limit commit rate'])} | {rate(p['limit connections'])} "
            f"({p['max_hosts']}) | {p['first']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    run = json.loads(CAPTURE.read_text())
    CAPTURE.with_suffix(".md").write_text(render(run))


if __name__ == "__main__":
    main()
