"""The benchmark's arithmetic, parsing and checks, on made-up runs and fake wrk output.

The measuring itself needs gunicorn, uvicorn and wrk (``nox -s bench-quick`` runs
it for real); this checks what turns measurements into the report and the exit
code, so a wrong number or a swallowed failure cannot hide there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import report, run
from tools.chapters import chapters

ROUNDS = 3
SETTINGS = {
    "threads": 2,
    "connections": 16,
    "warmup": 2,
    "rounds": ROUNDS,
    "read_seconds": 3,
    "write_seconds": 6,
    "busy_timeout": 5.0,
    "users": 20,
}
# What wrk prints around the line bench/wrk.lua adds.
WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:40425/users/1/posts
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    16.90ms    2.10ms  40.12ms   80.00%
    Req/Sec   470.00     30.00   520.00     70.00%
  2830 requests in 3.00s, 800.00KB read
  Non-2xx or 3xx responses: 30
Requests/sec:    943.33
Transfer/sec:    266.67KB
BENCH {"duration_us": 3000000, "sent": 2846, "requests": 2830, \
"statuses": {"201": 2800, "500": 30}, "connect": 0, "read": 0, "write": 0, "timeout": 2, \
"p50_us": 16900, "p99_us": 22300, "max_us": 40120}
"""


def fake_round(rate: float, cpu: float = 300.0, p99: float = 4000.0) -> dict:
    return {
        "ok": int(rate * 3),
        "ok_per_s": rate,
        "cpu_us": cpu,
        "wrk_cpu_us": 50.0,
        "p50_us": 2000.0,
        "p99_us": p99,
    }


def fake_run(tmp_path, rates=None, cpus=None, cpu="Test CPU 9000", **changes) -> dict:
    """A clean run of every app: 8,000 req/s for (a), 5,000 for the rest, unless told."""
    apps = run.define_apps(tmp_path, postgres_url=None)
    rates, cpus = rates or {}, cpus or {}
    results, failures = {}, {}
    for app in apps:
        for endpoint in app.endpoints:
            job = f"{app.key}/{endpoint}"
            default = 8000.0 if job == "a/read" else 5000.0
            these_rates = rates.get(job, [default] * ROUNDS)
            these_cpus = cpus.get(job, [300.0] * ROUNDS)
            results[job] = [fake_round(r, c) for r, c in zip(these_rates, these_cpus, strict=True)]
            failures[job] = {}
    writes = {
        app.key: {"stored": 15_000, "answered": 14_990, "runs": ROUNDS + 1}
        for app in apps
        if app.write
    }
    record = {
        "meta": {
            "date": "2026-11-26 10:00 UTC",
            "cpu": cpu,
            "machine": f"2 cores, {cpu}",
            "versions": "-",
            "load_before": "0.1",
            "load_after": "2.0",
            "quick": False,
            "settings": SETTINGS,
        },
        "apps": run.app_records(apps),
        "results": results,
        "failures": failures,
        "writes": writes,
        "server_errors": {app.key: {} for app in apps},
    }
    record.update(changes)
    return record


def layer(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"- {start}"))


def table_row(text: str, key: str, section: str = "**Reads**") -> list[str]:
    part = text.split(section, 1)[1]
    line = next(line for line in part.splitlines() if line.startswith(f"| ({key}) "))
    return [cell.strip() for cell in line.strip("|").split("|")]


# -- wrk's output ----------------------------------------------------------------------


def test_parse_wrk_counts_2xx_only_and_names_every_failure():
    result = run.parse_wrk(WRK_OUTPUT)
    assert result["ok"] == 2800
    assert result["ok_per_s"] == pytest.approx(2800 / 3)
    assert result["failures"] == {"HTTP 500": 30, "socket timeout": 2}
    assert (result["p50_us"], result["p99_us"]) == (16900, 22300)


def test_parse_wrk_refuses_output_without_the_script_line():
    without = "\n".join(line for line in WRK_OUTPUT.splitlines() if not line.startswith("BENCH"))
    with pytest.raises(ValueError, match="one BENCH line"):
        run.parse_wrk(without)


def test_the_lua_script_prints_what_parse_wrk_reads():
    lua = (run.WRK_SCRIPT).read_text()
    fields = json.loads(WRK_OUTPUT.splitlines()[-1].removeprefix("BENCH ")).keys()
    for name in fields:
        assert f'"{name}"' in lua


def test_logged_errors_names_each_exception():
    log = (
        "[ERROR] Unhandled exception\nTraceback (most recent call last):\n"
        '  File "api.py", line 9, in create_post\n    Session.commit()\n'
        "sqlite3.OperationalError: database is locked\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        'Traceback (most recent call last):\n  File "base.py", line 1\n'
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked\n"
        "[2026-11-26] [WARNING] unrelated line\n"
    )
    assert run.logged_errors(log) == {
        "sqlite3.OperationalError: database is locked": 1,
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked": 1,
    }
    assert run.logged_errors("[INFO] Booting worker with pid: 12\n") == {}


# -- the checks and the exit code ------------------------------------------------------


def test_a_clean_run_has_no_problems(tmp_path):
    assert report.problems(fake_run(tmp_path)) == []


def test_a_failed_request_is_a_problem(tmp_path):
    record = fake_run(tmp_path)
    record["failures"]["d/write"] = {"HTTP 500": 3}
    assert report.problems(record) == ["(d) write: 3 × HTTP 500"]


def test_a_traceback_in_a_server_log_is_a_problem(tmp_path):
    record = fake_run(tmp_path)
    record["server_errors"]["b"] = {"sqlite3.OperationalError: database is locked": 2}
    assert report.problems(record) == [
        "(b): 2 × `sqlite3.OperationalError: database is locked` in the server log"
    ]


@pytest.mark.parametrize(
    ("stored", "answered", "problem"),
    [
        (1000, 1000, None),
        (1064, 1000, None),  # 4 runs × 16 connections may be cut off when wrk stops
        (1065, 1000, "65 writes stored without a 2xx answer"),
        (999, 1000, "1 writes answered with 2xx are not in the database"),
    ],
)
def test_rows_written_are_counted_against_2xx_answers(tmp_path, stored, answered, problem):
    record = fake_run(tmp_path)
    record["writes"]["d"] = {"stored": stored, "answered": answered, "runs": 4}
    found = report.problems(record)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]


@pytest.mark.parametrize(
    ("sent", "requests", "problem"),
    [
        (2846, 2830, None),  # 16 connections: 16 requests may be open when wrk stops
        (2847, 2830, "(d) read: 17 requests sent and never answered in wrk run 2, more than"),
        (16, 0, "(d) read: no 2xx answer in wrk run 2"),
    ],
)
def test_requests_sent_are_counted_against_answers(tmp_path, sent, requests, problem):
    record = fake_run(tmp_path)
    ok = requests  # every answer a 200
    record["results"]["d/read"][1].update(sent=sent, requests=requests, ok=ok)
    found = report.problems(record)
    assert found == [] if problem is None else len(found) == 1 and found[0].startswith(problem)


def test_the_warm_up_runs_are_checked_too(tmp_path):
    record = fake_run(tmp_path)
    record["warmup"] = {"d/read": [{**fake_round(0), "sent": 16, "requests": 0}]}
    assert report.problems(record) == ["(d) read: no 2xx answer in wrk run 1"]


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # all of wrk's 16 connections at once (the default is 5)
    daemon_threads = True  # the sleeping handlers must not hold up the end


class Sleeps(BaseHTTPRequestHandler):
    """Answers each request after 2 s: longer than the wrk run below."""

    def do_GET(self) -> None:
        time.sleep(2)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


class Answers(Sleeps):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")


class HangsUp(Sleeps):
    """Closes the connection without an answer: wrk reconnects and sends again."""

    def do_GET(self) -> None:
        self.close_connection = True


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (Sleeps, ["(b) read: no 2xx answer in wrk run 1"]),
        (Answers, []),
        (HangsUp, ["no 2xx answer in wrk run 1", "sent and never answered in wrk run 1"]),
    ],
)
def test_a_real_wrk_run_against_a_server_that_does_not_answer(tmp_path, handler, expected):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (Debian: apt-get install wrk)")
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = run.App("b", "test server", tmp_path, "-", write=False)
        app.port, app.pid = server.server_address[1], os.getpid()
        args = run.parse_args(["--threads", "2", "--connections", "16"])
        result = run.wrk(app, "read", 1, args)  # the benchmark's own wrk call and script
    finally:
        server.shutdown()
        server.server_close()
    record = fake_run(tmp_path)
    record["results"]["b/read"][0] = result
    found = report.problems(record)
    if handler is Sleeps:
        # What wrk itself reports is clean: 16 requests sent, none answered, no error.
        assert (result["sent"], result["requests"], result["failures"]) == (16, 0, {})
        assert found == expected
        # The report still renders, without a ratio for the round that had no answer.
        assert table_row(report.render([record]), "b")[2] == "**0.62**"
    elif handler is Answers:
        assert result["ok"] > 100 and found == expected
    else:
        assert result["sent"] > 100 and result["failures"], result
        failures = [f for f in found if not f.startswith("(b) read: ") or "socket" not in f]
        assert [any(e in f for f in failures) for e in expected] == [True, True], found


def write_runs(folder, *records) -> None:
    folder.mkdir(exist_ok=True)
    for n, record in enumerate(records):
        (folder / f"2026-11-26T10000{n}Z.json").write_text(json.dumps(record))


def test_report_only_exits_with_an_error_when_a_kept_run_failed(tmp_path):
    bad = fake_run(tmp_path)
    bad["failures"]["c/write"] = {"socket timeout": 1}
    write_runs(tmp_path / "runs", fake_run(tmp_path), bad)
    argv = ["--report-only", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "b.md")]
    assert run.main(argv) == 1
    (tmp_path / "runs" / "2026-11-26T100001Z.json").unlink()
    assert run.main(argv) == 0
    assert (tmp_path / "b.md").read_text() == report.render([fake_run(tmp_path)])


@pytest.mark.parametrize(("lost", "code"), [(0, 0), (5, 1)])
def test_a_measured_run_exits_with_an_error_when_a_check_fails(tmp_path, monkeypatch, lost, code):
    record = fake_run(tmp_path)
    record["writes"]["b"]["stored"] = record["writes"]["b"]["answered"] - lost
    monkeypatch.setattr(run, "measure", lambda args: record)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    argv = ["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "bench.md")]
    assert run.main(argv) == code
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1


# -- the arithmetic --------------------------------------------------------------------


def test_ratios_are_medians_of_round_by_round_ratios_not_ratios_of_medians(tmp_path):
    # Round ratios 0.25, 0.75, 1.00: their median is 0.75, while the ratio of the
    # medians, 2,000 / 4,000, would be 0.50.
    record = fake_run(
        tmp_path,
        rates={"a/read": [4000, 4000, 2000], "d/read": [1000, 3000, 2000]},
    )
    text = report.render([record])
    cells = table_row(text, "d")
    assert cells[1] == "2,000"  # req/s: the median round
    assert cells[2] == "**0.75**"
    # Layer by layer leaves round 1 out: 3000/5000 and 2000/5000.
    assert "(d) against (a′): 0.50 × the requests/s" in text


def test_throughput_and_cpu_are_judged_separately(tmp_path):
    # 03 answers 20 % fewer requests/s in every round, at the same CPU per request
    # within noise: that is "fewer requests/s", not "within noise".
    record = fake_run(
        tmp_path,
        rates={"d/read": [4000, 4000, 4000]},
        cpus={"d/read": [300, 290, 310], "c/read": [300, 300, 300]},
    )
    line = layer(report.render([record]), "Flask-SQLAlchemy, reads, (c) against (d)")
    assert "1.25 × the requests/s, more in every round" in line
    assert "1.00 × the CPU per request (+0 µs), no clear difference" in line


def test_a_clear_difference_needs_every_round_of_every_run(tmp_path):
    one = fake_run(tmp_path, rates={"b/write": [6000, 6000, 6000]})
    other = fake_run(tmp_path, rates={"b/write": [6000, 6000, 4000]})
    line = "sqlite3 instead of the ORM, writes, (b) against (d)"
    assert "1.20 × the requests/s, more in every round;" in layer(report.render([one]), line)
    both = layer(report.render([one, other]), line)
    assert "1.10 [1.00–1.20] × the requests/s, no clear difference: the rounds" in both


def test_the_first_round_cannot_decide_a_verdict(tmp_path):
    # Chapter 01 faster than chapter 03 in round 1 only, as in the kept runs.
    record = fake_run(tmp_path, rates={"b/read": [6000, 4000, 4000]})
    text = report.render([record])
    line = layer(text, "sqlite3, a connection per request, reads, (b) against (d)")
    assert "0.80 × the requests/s, fewer in every round" in line
    assert "the first round of each run is left out here" in text
    # The tables still show every round: the median of 6,000, 4,000 and 4,000.
    assert table_row(text, "b")[1] == "4,000"
    # A quick run has one round only: that round is judged, and nothing is said.
    one_round = {job: [5000.0] for job in record["results"]}
    quick = fake_run(tmp_path, rates=one_round, cpus={job: [300.0] for job in one_round})
    quick["meta"]["settings"] = {**SETTINGS, "rounds": 1}
    quick_text = report.render([quick])
    assert "left out" not in quick_text
    assert "1.00 × the requests/s, no clear difference" in layer(
        quick_text, "sqlite3, a connection per request, reads, (b) against (d)"
    )


def test_more_workers_show_the_p99_latency(tmp_path):
    record = fake_run(tmp_path)
    record["results"]["e/write"] = [fake_round(6000, p99=62_000) for _ in range(ROUNDS)]
    line = layer(report.render([record]), "4 workers instead of 2, writes")
    assert line.endswith("p99 latency 4.0 → 62.0 ms, higher in every round")


def test_the_p99_latency_shows_its_spread_and_is_clear_only_in_every_round(tmp_path):
    one = fake_run(tmp_path)
    one["results"]["e/write"] = [fake_round(6000, p99=p) for p in (62_000, 62_000, 2_000)]
    other = fake_run(tmp_path)
    other["results"]["e/write"] = [fake_round(6000, p99=30_000) for _ in range(ROUNDS)]
    line = layer(report.render([one, other]), "4 workers instead of 2, writes")
    assert line.endswith(
        "p99 latency 4.0 [4.0–4.0] → 31.0 [30.0–32.0] ms, no clear difference: "
        "the rounds fall on both sides"
    )


# -- several runs ----------------------------------------------------------------------


def test_two_runs_show_the_median_and_the_lowest_and_highest_run(tmp_path):
    slow = fake_run(tmp_path, rates={"d/read": [3000] * ROUNDS})
    fast = fake_run(tmp_path, rates={"d/read": [4000] * ROUNDS})
    text = report.render([slow, fast])
    cells = table_row(text, "d")
    assert cells[1] == "3,500 [3,000–4,000]"
    assert cells[2] == "**0.44** [0.38–0.50]"
    assert "One run only" not in text
    assert "**Runs** merged below (2):" in text


def test_one_run_says_that_it_has_no_spread(tmp_path):
    text = report.render([fake_run(tmp_path)])
    assert "[" not in table_row(text, "d")[1]
    assert "**One run only:**" in text


def test_the_machine_is_named_and_mixed_machines_are_flagged(tmp_path):
    same = report.render([fake_run(tmp_path), fake_run(tmp_path)])
    assert "**Machine:** Test CPU 9000, in all 2 runs." in same
    mixed = report.render([fake_run(tmp_path), fake_run(tmp_path, cpu="Other CPU")])
    assert "different processors" in mixed


def test_every_row_is_in_a_table_and_a_chart(tmp_path):
    text = report.render([fake_run(tmp_path)])
    apps = run.define_apps(tmp_path, postgres_url=None)
    rows = [line for line in text.splitlines() if line.startswith("| (")]
    assert len(rows) == sum(len(app.endpoints) for app in apps)
    charts = re.findall(r"```mermaid\n---\n.*?\n---\nxychart-beta horizontal\n(.*?)```", text, re.S)
    assert len(charts) == 2
    bars = [re.search(r"bar \[(.*)\]", chart).group(1).split(", ") for chart in charts]
    assert [len(b) for b in bars] == [len(apps), sum(app.write for app in apps)]
    assert bars[0][0] == "8000"


def test_the_charts_label_their_bars_and_count_in_words(tmp_path):
    one, three = report.render([fake_run(tmp_path)]), report.render([fake_run(tmp_path)] * 3)
    assert "(s)" not in one + three
    assert "1 round of" not in three and "3 rounds of 3 s per read" in three
    assert "(one run)" in one and "(median of 3 runs)" in three
    assert one.count("showDataLabel: true") == 2


def test_the_report_speaks_to_readers(tmp_path):
    text = report.render([fake_run(tmp_path)]).lower()
    for word in ("issue", "target", "ticket"):
        assert word not in text


# -- chapter 05: accounts, tokens, a page of users -----------------------------------


def app(tmp_path, key: str) -> run.App:
    return next(a for a in run.define_apps(tmp_path, postgres_url=None) if a.key == key)


def test_only_the_endpoints_that_need_a_token_send_one(tmp_path):
    args = run.parse_args(["--threads", "2", "--connections", "16"])
    h = app(tmp_path, "h")
    h.port, h.token = 8000, "T" * 43
    header = ["--header", f"Authorization: Bearer {'T' * 43}"]
    commands = {name: run.wrk_command(h, name, 3, args) for name in h.endpoints}
    assert set(commands) == {"read", "write", "user", "me"}
    for name, command in commands.items():
        sends = any(command[i : i + 2] == header for i in range(len(command)))
        assert sends == (name in ("write", "me")), name
    assert commands["write"][-4:] == [
        "http://127.0.0.1:8000/api/posts",
        "--",
        "POST",
        run.POST_BODY,
    ]
    assert commands["read"][-3:] == ["http://127.0.0.1:8000/api/users", "--", "GET"]
    assert commands["me"][-3:] == ["http://127.0.0.1:8000/api/auth/me", "--", "GET"]
    d = app(tmp_path, "d")
    d.port = 8001
    assert not any(
        part.startswith("Authorization") for part in run.wrk_command(d, "write", 6, args)
    )


class FakeApi:
    """Chapter 05 as seed_and_check sees it: answers, and every request it got."""

    def __init__(self, listing: dict | None = None):
        self.requests: list[tuple[str, str, dict, dict]] = []
        users = run.seeded_users()
        public = [{"id": u["id"], "username": u["username"]} for u in users]
        self.answers = {
            ("POST", "/api/users"): (201, {}),
            ("POST", "/api/auth/login"): (200, {"token": "secret-token"}),
            # Newest first, as the service lists them.
            ("GET", "/api/users"): (200, listing or {"items": public[::-1], "next": None}),
            ("GET", "/api/users/1"): (200, public[0]),
            ("GET", "/api/auth/me"): (200, users[0]),
            ("POST", "/api/posts"): (201, {"id": 1, "user_id": 1}),
        }

    def __call__(self, url, method="GET", body=None, timeout=10, headers=None):
        path = url.removeprefix("http://127.0.0.1:8000")
        self.requests.append((method, path, json.loads(body or "{}"), headers or {}))
        status, answer = self.answers[method, path]
        return status, json.dumps(answer).encode()


def fake_chapter_04(tmp_path, monkeypatch, api: FakeApi) -> run.App:
    h = app(tmp_path, "h")
    h.port = 8000
    with sqlite3.connect(h.sqlite_file) as connection:  # init-db's WAL mode
        connection.execute("PRAGMA journal_mode=WAL")
    monkeypatch.setattr(run, "http", api)
    return h


def test_chapter_04_registers_and_logs_in_once_then_sends_the_token(tmp_path, monkeypatch):
    api = FakeApi()
    h = fake_chapter_04(tmp_path, monkeypatch, api)
    run.seed_and_check(h)
    registered = [
        body for method, path, body, _ in api.requests if path == "/api/users" and method == "POST"
    ]
    assert [body["username"] for body in registered] == [f"reader{n:02d}" for n in range(1, 21)]
    assert all(len(body["password"]) >= 15 for body in registered)
    logins = [body for _, path, body, _ in api.requests if path == "/api/auth/login"]
    assert logins == [{"username": "reader01", "password": run.PASSWORD}]
    assert h.token == "secret-token"
    sent = {path: headers for method, path, _, headers in api.requests if method == "GET"}
    sent["/api/posts"] = next(h for m, p, _, h in api.requests if (m, p) == ("POST", "/api/posts"))
    assert sent == {
        "/api/users": {},
        "/api/users/1": {},
        "/api/auth/me": {"Authorization": "Bearer secret-token"},
        "/api/posts": {"Authorization": "Bearer secret-token"},
    }


@pytest.mark.parametrize(
    "listing",
    [
        # The e-mail addresses, which chapter 05 keeps private, would be more work.
        {"items": run.seeded_users(), "next": None},
        # A second page would mean fewer users on this one than in the other apps.
        {
            "items": [{"id": n, "username": f"reader{n:02d}"} for n in range(1, 20)],
            "next": "/api/users?limit=19&after=19",
        },
    ],
)
def test_chapter_04_must_list_the_same_users_as_the_others(tmp_path, monkeypatch, listing):
    h = fake_chapter_04(tmp_path, monkeypatch, FakeApi(listing))
    with pytest.raises(SystemExit, match="not the 20 seeded users: unfair"):
        run.seed_and_check(h)


def test_the_token_check_is_a_layer_of_its_own(tmp_path):
    record = fake_run(
        tmp_path,
        # The page of users differs, so that only the right pair gives the numbers below.
        rates={"h/user": [5000, 5000, 5000], "h/me": [4000, 4500, 5500], "h/read": [900] * 3},
        cpus={"h/user": [300, 300, 300], "h/me": [360, 390, 330]},
    )
    text = report.render([record])
    line = layer(text, "checking the token, (h) `GET /api/auth/me` against `GET /api/users/1`")
    # From round 2 on, throughput: 0.90, 1.10; CPU: 1.30, 1.10.
    assert "1.00 × the requests/s, no clear difference" in line
    assert "1.20 × the CPU per request (+60 µs), more in every round" in line
    one_user = text.split("**One user**", 1)[1].split("\n\n*req/s*", 1)[0]
    rows = [line for line in one_user.splitlines() if line.startswith("| (h) ")]
    assert [row.split(" | ")[0] for row in rows] == [
        f"| (h) {max(chapters())} service, `GET /api/users/1`, no token",
        f"| (h) {max(chapters())} service, `GET /api/auth/me`, with a token",
    ]
    assert rows[1].split(" | ")[1] == "4,500"


def test_a_failed_token_read_fails_the_run(tmp_path):
    record = fake_run(tmp_path)
    record["failures"]["h/me"] = {"HTTP 401": 7}
    assert report.problems(record) == ["(h) me: 7 × HTTP 401"]


def test_a_run_from_before_chapter_04_still_renders(tmp_path):
    record = fake_run(tmp_path)
    record["apps"] = [a for a in record["apps"] if a["key"] != "h"]
    for app in record["apps"]:
        del app["endpoints"]
    for job in [job for job in record["results"] if job.startswith("h/")]:
        del record["results"][job], record["failures"][job]
    del record["writes"]["h"], record["server_errors"]["h"]
    text = report.render([record])
    assert "(h)" not in text and "**One user**" not in text
    assert report.problems(record) == []


def test_counting_rows_leaves_no_connection_open(tmp_path):
    # An idle connection from the benchmark would change how chapter 01's own
    # connections use the write-ahead log: each must be closed, not left to the GC.
    b = app(tmp_path, "b")
    with sqlite3.connect(b.sqlite_file) as connection:
        connection.executescript("CREATE TABLE posts (id INTEGER PRIMARY KEY)")
    connection.close()
    assert run.count_posts(b) == 0

    def open_files() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                found.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the descriptor listdir itself used
                pass
        return [name for name in found if name.startswith(str(b.sqlite_file))]

    assert open_files() == []
