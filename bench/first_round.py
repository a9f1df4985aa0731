"""Why chapter 01 reads faster in its first round than in the later ones: an experiment.

    python -m bench.first_round             print the table, write captures/bench-first-round.txt
    python -m bench.first_round --out -     print only

In every full run, chapter 01's `GET /users` answered about a quarter fewer requests
per second after its first round, and chapter 03's did not. Between the two, the
benchmark had written thousands of posts through each app. This runs the same apps
with the same settings (bench/gunicorn.conf.py, bench/wrk.lua, 2 threads and 16
connections), each condition on its own server and database, and measures the reads
of every condition in rotating order, round after round, so that a busy moment of
the machine hits every condition alike:

- fresh: the 20 users only;
- grown: the same, after two 6-second write runs through the same server, as in a
  benchmark run;
- grown, new workers: a database grown the same way, served by a server started
  after the writes (does the server's state matter, or the database's?);
- held: while an idle sqlite3 connection, opened by this script, stays open on the
  database (does the cost come from being the only connection?);
- grown, WAL truncated: grown, then ``PRAGMA wal_checkpoint(TRUNCATE)`` empties the
  write-ahead log the writes left behind (does the cost come from that file?).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench import run

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures/bench-first-round.txt"


# name -> (app key, grown by writes, restarted after the writes, idle connection held,
# write-ahead log truncated after the writes)
PLAN = {
    "01 fresh": ("b", False, False, False, False),
    "01 grown": ("b", True, False, False, False),
    "01 grown, new workers": ("b", True, True, False, False),
    "01 grown, WAL truncated": ("b", True, False, False, True),
    "01 fresh, held": ("b", False, False, True, False),
    "01 grown, held": ("b", True, False, True, False),
    "03 fresh": ("d", False, False, False, False),
    "03 grown": ("d", True, False, False, False),
}


def conditions(tmp: Path) -> dict[str, run.App]:
    """Each condition's app, on a database of its own."""
    found = {}
    for n, (name, (key, *_)) in enumerate(PLAN.items()):
        # A folder each: the app definitions name their database files after the app.
        folder = tmp / f"condition-{n}"
        folder.mkdir()
        found[name] = next(a for a in run.define_apps(folder, postgres_url=None) if a.key == key)
    return found


def files(app: run.App) -> str:
    """The database's files and their sizes, e.g. "db 2.1 MB, -wal 0 B"."""
    path = app.sqlite_file
    parts = []
    for suffix in ("", "-wal", "-shm"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            size = file.stat().st_size
            parts.append(
                f"{suffix or 'db'} {size / 1e6:.1f} MB"
                if size > 99_999
                else f"{suffix or 'db'} {size:,} B"
            )
    return ", ".join(parts)


def measure(rounds: int, seconds: int, write_runs: int) -> str:
    args = run.parse_args(["--duration", str(seconds)])
    load_before = run.load_average()
    lines = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="first-round-")))
        plan = conditions(tmp)
        run.init_databases(list(plan.values()))
        servers = {}
        for name, app in plan.items():
            servers[name] = ExitStack()
            servers[name].enter_context(run.serving([app], tmp))
            stack.callback(lambda name=name: servers[name].close())
            run.seed_and_check(app)
        posts = {}
        for name, app in plan.items():
            _, grown, restarted, held, truncated = PLAN[name]
            if grown:
                for _ in range(write_runs):
                    run.wrk(app, "write", args.write_duration, args)
                posts[name] = run.count_posts(app)
            if restarted:  # the same database, served by new processes
                servers[name].close()
                servers[name] = ExitStack()
                servers[name].enter_context(run.serving([app], tmp))
            if truncated:
                connection = sqlite3.connect(app.sqlite_file)
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.close()
            if held:
                idle = sqlite3.connect(app.sqlite_file)
                idle.execute("SELECT count(*) FROM users").fetchone()  # opens the -wal/-shm
                stack.callback(idle.close)
        names = list(plan)
        rates: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for n in range(rounds):
            for name in run.rotated(names, n):
                result = run.wrk(plan[name], "read", seconds, args)
                rates[name].append(result["ok_per_s"])
                cpus[name].append(result["cpu_us"])
            print(f"round {n + 1}/{rounds} done", file=sys.stderr, flush=True)
        base = "01 fresh"
        lines.append(
            f"GET /users, {rounds} rounds of {seconds} s per condition, rotating order; "
            f"grown = {write_runs} write runs of {args.write_duration} s through the app"
        )
        lines.append("")
        header = (
            f"{'condition':24} {'posts':>7} {'req/s':>6} {'× 01 fresh':>10} {'CPU µs':>7}  files"
        )
        lines.append(header)
        for name in names:
            app = plan[name]
            ratios = [r / b for r, b in zip(rates[name], rates[base], strict=True)]
            lines.append(
                f"{name:24} {posts.get(name, 0):>7,} {statistics.median(rates[name]):>6,.0f} "
                f"{statistics.median(ratios):>10.2f} {statistics.median(cpus[name]):>7,.0f}  "
                f"{files(app)}"
            )
        lines.append("")
        lines.append("req/s and CPU µs per request: medians over the rounds; × 01 fresh: the")
        lines.append("median of the round-by-round ratios; files: after the last round.")
        lines.append(
            f"{run.machine()}; 1-minute load average {load_before} before, "
            f"{run.load_average()} at the end."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="seconds per read run")
    parser.add_argument("--write-runs", type=int, default=2, help="6-second runs to grow")
    parser.add_argument("--out", default=str(CAPTURE), help="a file, or - for none")
    args = parser.parse_args(argv)
    text = measure(args.rounds, args.duration, args.write_runs)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
