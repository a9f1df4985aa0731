"""Run the default nox sessions a few at a time: ``python3 noxfile.py`` with no arguments.

    python3 noxfile.py             the default sessions, CPUs + 1 at a time
    python3 noxfile.py --jobs 4    four at a time (or NOX_JOBS=4)
    python3 noxfile.py --jobs 1    one after another: plain nox

Most sessions spend their time waiting (on a server starting, a timeout, a
browser), so a few at once finish sooner than one after another. Each runs as
its own ``nox -s NAME`` process with its output in .nox/_logs/NAME.log; when
one ends, its whole log is printed at once, so the output still reads one
session after another. A table of results and times ends the run: each
session's wall time, and the CPU time (user + system) of its process tree, the
processes nox waited for (a server that leaves its parent, such as PostgreSQL,
is not counted). CPU well under wall means the session mostly waited: on a
server, a timeout, or, on a busy machine, for a CPU.

The longest sessions start first, so that a long one never starts last.
Some sessions run alone, after all the others: a benchmark measures the
machine, and sessions running beside it would change what it measures.
Plain ``nox`` (or any argument but --jobs) runs nox itself, one session
after another. Standard library only: it runs before nox is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def jobs_asked(argv: list[str]) -> tuple[int | None, list[str]]:
    """Take ``--jobs N`` out of the arguments; else $NOX_JOBS; else None."""
    if argv[:1] == ["--jobs"] and len(argv) >= 2:
        return int(argv[1]), argv[2:]
    if argv[:1] and argv[0].startswith("--jobs="):
        return int(argv[0].removeprefix("--jobs=")), argv[1:]
    jobs = os.environ.get("NOX_JOBS")
    return (int(jobs) if jobs else None), argv


def default_jobs() -> int:
    return (os.cpu_count() or 1) + 1


def in_order(sessions: list[str], longest_first: list[str]) -> list[str]:
    """The sessions in ``longest_first`` first, in its order; then the rest as given."""
    rank = {name: position for position, name in enumerate(longest_first)}
    return sorted(sessions, key=lambda name: rank.get(name, len(rank)))


def run(
    noxfile: str, sessions: list[str], jobs: int, longest_first: list[str], alone: list[str]
) -> int:
    """Run ``sessions`` of ``noxfile`` ``jobs`` at a time; ``alone`` last, one by one."""
    command = [sys.executable, "-m", "nox", "-f", noxfile, "-s"]
    logs = Path(noxfile).resolve().parent / ".nox" / "_logs"
    return run_commands(command, sessions, jobs, longest_first, alone, logs)


def run_commands(
    command: list[str],
    sessions: list[str],
    jobs: int,
    longest_first: list[str],
    alone: list[str],
    logs: Path,
) -> int:
    """Run ``command + [session]`` for each session; 0 if every one passed."""
    logs.mkdir(parents=True, exist_ok=True)
    together = in_order([name for name in sessions if name not in alone], longest_first)
    last = [name for name in sessions if name in alone]
    print(f"{len(sessions)} sessions, {jobs} at a time; then alone: {', '.join(last) or 'none'}.")
    print(f"Each log is printed when its session ends; all are in {logs}.", flush=True)
    started = time.monotonic()
    results = run_batch(command, together, jobs, logs)
    results += run_batch(command, last, 1, logs)
    return summary(results, time.monotonic() - started)


def finished(process: subprocess.Popen) -> float | None:
    """The CPU seconds of ``process`` and what it waited for, once it has ended; else None."""
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if not pid:
        return None
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def run_batch(
    command: list[str], queue: list[str], jobs: int, logs: Path
) -> list[tuple[str, bool, float, float]]:
    queue, running, results = list(queue), {}, []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                name = queue.pop(0)
                log = (logs / f"{name}.log").open("w")
                process = subprocess.Popen(
                    [*command, name], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
                running[process] = (name, log, time.monotonic())
            time.sleep(0.5)
            for process in list(running):
                cpu = finished(process)
                if cpu is None:
                    continue
                name, log, start = running.pop(process)
                log.close()
                seconds = time.monotonic() - start
                results.append((name, process.returncode == 0, seconds, cpu))
                print(
                    f"\n===== {name}: {verdict(process.returncode == 0)} in {seconds:.0f} s"
                    f" ({cpu:.1f} s CPU)"
                )
                print(Path(log.name).read_text(errors="replace"), end="", flush=True)
    except KeyboardInterrupt:
        for process in running:  # nox stops its own commands on SIGTERM
            process.terminate()
        for process in running:
            process.wait()
        raise
    return results


def verdict(passed: bool) -> str:
    return "passed" if passed else "FAILED"


def summary(results: list[tuple[str, bool, float, float]], seconds: float) -> int:
    width = max((len(name) for name, *_ in results), default=7)
    print(f"\n{'session':<{width}}  result  seconds  CPU s")
    for name, passed, took, cpu in results:
        print(f"{name:<{width}}  {verdict(passed):<6}  {took:7.0f}  {cpu:5.0f}")
    failed = [name for name, passed, *_ in results if not passed]
    cpu = sum(result[3] for result in results)
    print(f"{len(results)} sessions in {seconds:.0f} s, {cpu:.0f} s CPU.", end=" ")
    print(f"Failed: {', '.join(failed)}" if failed else "All passed.")
    return 1 if failed else 0
