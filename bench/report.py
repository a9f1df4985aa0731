"""Turn the kept benchmark runs (captures/bench-runs/*.json) into captures/bench.md.

Within one run, every number is the median over its rounds; a ratio between two
apps is the median of the round-by-round ratios, each round's apps having shared
the same moment of the machine. Across runs, the tables show the median run and,
in brackets, the lowest and highest run. Pass/fail checks are about correctness
only (failed requests, rows written, errors in the server logs); comparisons are
described, never judged against a fixed target.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

# Ratios and CPU comparisons, in this order, under "Layer by layer":
# (text, the app/endpoint measured, the app/endpoint it is compared with).
COMPARISONS = [
    ("JSON of 20 users instead of a short text, (a′) against (a)", "a′/read", "a/read"),
    ("reading them from SQLite, the chapter's way, (d) against (a′)", "d/read", "a′/read"),
    ("rows from a connection instead of the session, (d″) against (d)", "d″/read", "d/read"),
    ("ORM objects instead of rows, (d′) against (d)", "d′/read", "d/read"),
    ("Flask-SQLAlchemy, reads, (c) against (d)", "c/read", "d/read"),
    ("Flask-SQLAlchemy, writes, (c) against (d)", "c/write", "d/write"),
    ("sqlite3, a connection per request, reads, (b) against (d)", "b/read", "d/read"),
    ("sqlite3 instead of the ORM, writes, (b) against (d)", "b/write", "d/write"),
    ("sqlite3 instead of the ORM, writes, (b) against (c)", "b/write", "c/write"),
    ("writing instead of reading, (d)", "d/write", "d/read"),
    ("4 workers instead of 2, reads, (e) against (d)", "e/read", "d/read"),
    ("4 workers instead of 2, writes, (e) against (d)", "e/write", "d/write"),
    ("PostgreSQL instead of SQLite, reads, (f) against (e)", "f/read", "e/read"),
    ("PostgreSQL instead of SQLite, writes, (f) against (e)", "f/write", "e/write"),
    ("FastAPI under uvicorn, reads, (g) against (d)", "g/read", "d/read"),
    ("FastAPI under uvicorn, writes, (g) against (d)", "g/write", "d/write"),
    ("the service's page of users, reads, (h) against (d)", "h/read", "d/read"),
    ("the service's write with a token, writes, (h) against (d)", "h/write", "d/write"),
    (
        "checking the token, (h) `GET /api/auth/me` against `GET /api/users/1`",
        "h/me",
        "h/user",
    ),
]
# The tables' endpoints; any other (the service's reads of one user) has a table of its own.
MAIN_ENDPOINTS = ("read", "write")
# The bars' colour: dark enough for the white value label written on each bar.
BAR_COLOUR = "#3949ab"


def load_runs(folder: Path) -> list[dict]:
    """Every kept run, oldest first (the file names are UTC timestamps)."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


# -- arithmetic ------------------------------------------------------------------------


def paired(runs: list[dict], others: list[dict], key: str) -> list[float]:
    """Round by round ratios: each round against the other app's run in the same round.

    A round in which either app answered nothing has no ratio: it is left out here,
    and problems() fails the run for it.
    """
    return [
        run[key] / other[key]
        for run, other in zip(runs, others, strict=True)
        if run["ok"] and other["ok"]
    ]


def median_of(values: list[float]) -> float:
    """The median, or NaN (printed as "nan") when nothing was measured."""
    return statistics.median(values) if values else math.nan


def row(run: dict, job: str) -> dict[str, float]:
    """One app and endpoint in one run: medians over the rounds."""
    rounds, ceiling = run["results"][job], run["results"]["a/read"]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    return {
        "ok_per_s": median("ok_per_s"),
        "ratio": median_of(paired(rounds, ceiling, "ok_per_s")),
        "cpu_us": median("cpu_us"),
        "wrk_cpu_us": median("wrk_cpu_us"),
        "p50_us": median("p50_us"),
        "p99_us": median("p99_us"),
    }


def spread(values: list[float], fmt: Callable[[float], str]) -> str:
    """The median run, and with two runs or more the lowest and highest in brackets."""
    text = fmt(statistics.median(values))
    if len(values) > 1:
        text += f" [{fmt(min(values))}–{fmt(max(values))}]"
    return text


def judge(ratios: list[float], more: str, less: str) -> str:
    """Clear only when every round, in every run, points the same way."""
    if all(r > 1 for r in ratios):
        return f"{more} in every round"
    if all(r < 1 for r in ratios):
        return f"{less} in every round"
    return "no clear difference: the rounds fall on both sides"


def compared(rounds: list[dict]) -> list[dict]:
    """The rounds a comparison uses: from the second on, when a run has more than one.

    Start-up effects can reach into the first round: in the kept runs, chapter 01 read
    faster in round 1 than in any later one, while an idle connection that the
    benchmark had left open still shared its database (bench/first_round.py). Kept in,
    that one round would decide a verdict by where it falls in the order.
    """
    return rounds[1:] if len(rounds) > 1 else rounds


def comparison(runs: list[dict], text: str, new: str, old: str) -> str | None:
    """One "Layer by layer" line: throughput and CPU per request, each judged on its own."""
    runs = [run for run in runs if new in run["results"] and old in run["results"]]
    if not runs:
        return None
    rates, cpus, extra_cpu, all_rates, all_cpus = [], [], [], [], []
    p99_before, p99_after, all_p99 = [], [], []
    for run in runs:
        these, those = compared(run["results"][new]), compared(run["results"][old])
        rate_ratios, cpu_ratios = paired(these, those, "ok_per_s"), paired(these, those, "cpu_us")
        all_rates += rate_ratios
        all_cpus += cpu_ratios
        rates.append(median_of(rate_ratios))
        cpus.append(median_of(cpu_ratios))
        differences = [a["cpu_us"] - b["cpu_us"] for a, b in zip(these, those, strict=True)]
        extra_cpu.append(statistics.median(differences))
        p99_before.append(statistics.median(r["p99_us"] for r in those) / 1000)
        p99_after.append(statistics.median(r["p99_us"] for r in these) / 1000)
        all_p99 += paired(these, those, "p99_us")
    line = (
        f"- {text}: {spread(rates, '{:.2f}'.format)} × the requests/s, "
        f"{judge(all_rates, 'more', 'fewer')}; "
        f"{spread(cpus, '{:.2f}'.format)} × the CPU per request "
        f"({spread(extra_cpu, '{:+,.0f}'.format)} µs), "
        f"{judge(all_cpus, 'more', 'less')}"
    )
    if "workers" in text:
        # A tail latency moves more than a median: its spread and its judgement too.
        line += (
            f"; p99 latency {spread(p99_before, '{:.1f}'.format)} → "
            f"{spread(p99_after, '{:.1f}'.format)} ms, {judge(all_p99, 'higher', 'lower')}"
        )
    return line


def unanswered_requests(runs: list[dict], connections: int) -> list[str]:
    """What one job's wrk runs left unanswered, beyond what the load's end explains.

    wrk reports the answers it got. A request still open when the run ends is not
    an error to it, so an app that answers nothing at all would pass unseen. With
    one request at a time per connection, at most ``connections`` can be open at
    the end; bench/wrk.lua counts the requests sent, so more than that is a loss.
    """
    found = []
    for n, result in enumerate(runs, 1):
        if not result["ok"]:
            found.append(f"no 2xx answer in wrk run {n}")
        missing = result.get("sent", 0) - result.get("requests", 0)  # older runs: no count
        if missing > connections:
            found.append(
                f"{missing} requests sent and never answered in wrk run {n}, "
                f"more than the {connections} connections open when the load stopped"
            )
    return found


def problems(run: dict) -> list[str]:
    """What makes a run fail: any failed request, a job without answers, lost or
    unexplained rows, a traceback."""
    found = []
    connections = run["meta"]["settings"]["connections"]
    for job, kinds in run["failures"].items():
        for kind, n in sorted(kinds.items()):
            found.append(f"({job.replace('/', ') ')}: {n} × {kind}")
    for job, rounds in run["results"].items():
        # The warm-up's runs first (kept since runs record them), then the rounds.
        runs = [*run.get("warmup", {}).get(job, []), *rounds]
        if not runs:
            found.append(f"({job.replace('/', ') ')}: never measured")
        for problem in unanswered_requests(runs, connections):
            found.append(f"({job.replace('/', ') ')}: {problem}")
    for key, errors in run["server_errors"].items():
        for exception, count in sorted(errors.items()):
            found.append(f"({key}): {count} × `{exception}` in the server log")
    for key, counts in run["writes"].items():
        lost = counts["answered"] - counts["stored"]
        unanswered = counts["stored"] - counts["answered"]
        in_flight = connections * counts["runs"]  # at most this many cut off by wrk's end
        if lost > 0:
            found.append(f"({key}): {lost} writes answered with 2xx are not in the database")
        if unanswered > in_flight:
            found.append(
                f"({key}): {unanswered} writes stored without a 2xx answer, "
                f"more than the {in_flight} requests in flight when the load stopped"
            )
    return found


# -- text ------------------------------------------------------------------------------


def counted(n: int, word: str) -> str:
    """ "1 run", "3 runs" """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plain(label: str) -> str:
    return label.replace("`", "")


def render(runs: list[dict]) -> str:
    latest = runs[-1]
    apps = latest["apps"]  # the rows, in the latest run's order
    settings = latest["meta"]["settings"]
    n = len(runs)
    warmup = "no warm-up"
    if settings["warmup"]:
        warmup = f"{settings['warmup']:g} s warm-up per app and endpoint"

    def values(job: str, key: str) -> list[float]:
        return [row(run, job)[key] for run in runs if job in run["results"]]

    def table(rows: list[tuple[str, str]]) -> list[str]:
        """One line per (label, app/endpoint) measured in the latest run."""
        lines = [
            "| app | req/s | × (a) | app CPU µs | wrk CPU µs | p50 / p99 ms |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for label, job in rows:
            if job not in latest["results"]:
                continue
            ratio = spread(values(job, "ratio"), "{:.2f}".format)
            bold, _, rest = ratio.partition(" ")
            lines.append(
                f"| {label} "
                f"| {spread(values(job, 'ok_per_s'), '{:,.0f}'.format)} "
                f"| **{bold}**{' ' + rest if rest else ''} "
                f"| {spread(values(job, 'cpu_us'), '{:,.0f}'.format)} "
                f"| {spread(values(job, 'wrk_cpu_us'), '{:,.0f}'.format)} "
                f"| {statistics.median(values(job, 'p50_us')) / 1000:.1f} / "
                f"{statistics.median(values(job, 'p99_us')) / 1000:.1f} |"
            )
        return lines

    def main_table(endpoint: str) -> list[str]:
        return table([(f"({a['key']}) {a['label']}", f"{a['key']}/{endpoint}") for a in apps])

    # Endpoints beyond reads and writes, named by the run: (h)'s two reads of one user.
    others = [
        (f"({a['key']}) {a['label']}, {about}", f"{a['key']}/{name}")
        for a in apps
        for name, about in a.get("endpoints", {}).items()
        if name not in MAIN_ENDPOINTS
    ]
    other_lines = []
    if others:
        other_lines = [
            "**One user**, read by the service without a token and with one (the same user; "
            "`/api/auth/me` adds the e-mail address its owner may see):",
            "",
            *table(others),
            "",
        ]

    def chart(endpoint: str, title: str) -> list[str]:
        jobs = [(a, f"{a['key']}/{endpoint}") for a in apps]
        jobs = [(a, job) for a, job in jobs if job in latest["results"]]
        rates = [statistics.median(values(job, "ok_per_s")) for _, job in jobs]
        labels = ", ".join(f'"({a["key"]}) {plain(a["label"])}"' for a, _ in jobs)
        # Each bar carries its value; the value axis carries no numbers, since a dozen
        # of them would run together across a phone's width. The top leaves room for
        # the longest bar's label.
        top = max(rates) * 1.15
        step = 10 ** max(len(str(int(top))) - 2, 0)
        return [
            "```mermaid",
            "---",
            "config:",
            "  xyChart:",
            "    showDataLabel: true",
            "    yAxis:",
            "      showLabel: false",
            "      showTick: false",
            "  themeVariables:",
            "    xyChart:",
            f'      plotColorPalette: "{BAR_COLOUR}"',
            '      dataLabelColor: "#ffffff"',
            "---",
            "xychart-beta horizontal",
            f'    title "{title}"',
            f"    x-axis [{labels}]",
            f'    y-axis "2xx answers per second" 0 --> {int(top / step + 1) * step}',
            f"    bar [{', '.join(f'{rate:.0f}' for rate in rates)}]",
            "```",
        ]

    cpus = sorted({run["meta"]["cpu"] for run in runs})
    run_lines = []
    for number, run in enumerate(runs, 1):
        meta, found = run["meta"], problems(run)
        stored = sum(w["stored"] for w in run["writes"].values())
        answered = sum(w["answered"] for w in run["writes"].values())
        checks = "; ".join(found) if found else "all passed"
        run_lines.append(
            f"{number}. {meta['date']}{' (quick)' if meta['quick'] else ''}, code at "
            f"{meta.get('code', 'an unrecorded commit')}: {meta['machine']}; "
            f"1-minute load average {meta['load_before']} before, {meta['load_after']} at "
            f"the end. Writes stored {stored:,}, 2xx answers to writes {answered:,}. "
            f"Checks: {checks}."
        )

    ceiling = values("a/read", "wrk_cpu_us"), values("a/read", "cpu_us")
    wrk_share = [w / (w + c) for w, c in zip(*ceiling, strict=True)]
    layers = [
        line
        for text, new, old in COMPARISONS
        if (line := comparison(runs, text, new, old)) is not None
    ]
    h_read = h_write = ""
    if "h/read" in latest["results"]:
        h_read = (
            "; (h) answers `GET /api/users` with a page of the same users, "
            "without their e-mail addresses"
        )
    if "h/write" in latest["results"]:
        h_write = "; (h) sends `POST /api/posts` with user 1's token, checked on every request"
    of_runs = f"median of {n} runs" if n > 1 else "one run"
    read_title = f"GET /users, 2xx answers per second ({of_runs})"
    write_title = f"POST /users/1/posts, 2xx answers per second ({of_runs})"
    lines = [
        "<!-- Written by bench/run.py from captures/bench-runs/. Do not edit by hand. -->",
        "",
        f"**Machine:** {', '.join(cpus)}"
        + (
            " (the runs come from different processors, so their spread mixes machines)."
            if len(cpus) > 1
            else f", in all {counted(n, 'run')}."
        ),
        "",
        f"**Versions** (latest run): {latest['meta']['versions']}.",
        "",
        f"**Settings:** gunicorn sync workers with `bench/gunicorn.conf.py`, uvicorn for (g); "
        f"wrk with {settings['threads']} threads and {settings['connections']} connections on "
        f"loopback; {warmup}, then {counted(settings['rounds'], 'round')} of "
        f"{settings['read_seconds']:g} s per read and "
        f"{settings['write_seconds']:g} s per write, apps in rotating order; "
        f"{settings['users']} users in every database; each write adds a post to user 1.",
        "",
        f"**Runs** merged below ({n}):",
        "",
        *run_lines,
        "",
        f"**Reads**, `GET /users` ({settings['users']} users as JSON; (a) answers `GET /` "
        f"with a short text{h_read}):",
        "",
        *main_table("read"),
        "",
        *chart("read", read_title),
        "",
        f"**Writes**, `POST /users/1/posts` (validate, insert, commit, answer with the post"
        f"{h_write}):",
        "",
        *main_table("write"),
        "",
        *chart("write", write_title),
        "",
        *other_lines,
        "*req/s* counts 2xx answers only. *× (a)* is the median of each round's ratio to (a) "
        "in the same round. *app CPU µs* is the CPU time of the app's server processes "
        "(master and workers, not PostgreSQL) per answered request; *wrk CPU µs* is the load "
        "generator's. Each number is the median over a run's rounds, then the median run"
        + (", with the lowest and highest run in brackets." if n > 1 else ".")
        + (
            ""
            if n > 1
            else " **One run only:** there is no spread across runs to show yet, so do not "
            "read much into small differences."
        ),
        "",
        f"**The load generator:** on (a), wrk spent "
        f"{spread([w * 100 for w in wrk_share], '{:.0f}'.format)} % of the CPU time that wrk "
        "and the app spent together per request.",
        "",
        "**Layer by layer** (ratios are medians of the round-by-round ratios; a difference is "
        "called clear only when every round of every run points the same way"
        + (
            "; the first round of each run is left out here, as a second warm-up, so that "
            "where an app falls in the order cannot decide a verdict):"
            if settings["rounds"] > 1
            else "):"
        ),
        "",
        *layers,
        "",
    ]
    return "\n".join(lines)
