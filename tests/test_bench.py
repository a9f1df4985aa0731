"""The benchmark's report: the issue-5 verdicts it prints follow from the numbers.

The measuring itself needs gunicorn and wrk (``nox -s bench``); this checks the
arithmetic and the rules on made-up runs, so a wrong verdict cannot hide there.
"""

from __future__ import annotations

import importlib.util
import sys
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench/run.py")
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up there
spec.loader.exec_module(bench)

ARGS = Namespace(threads=2, connections=16, warmup=1, rounds=3, duration=1)
META = {
    "date": "today",
    "machine": "a test",
    "versions": "-",
    "load_before": "0",
    "load_after": "0",
}


def run(rate: float, cpu: float = 300.0) -> dict:
    return {"ok_per_s": rate, "cpu_us": cpu, "p50_us": 2000, "p99_us": 4000}


def make_report(tmp_path, d_rate=5000.0, d_cpu=300.0, failures=None):
    apps = bench.define_apps(tmp_path, postgres_url=None)
    results, failed = {}, {}
    for app in apps:
        for endpoint in app.endpoints:
            rate = {"a": 8000.0, "d": d_rate}.get(app.key, 5000.0)
            cpu = d_cpu if app.key == "d" else 300.0
            results[(app.key, endpoint)] = [run(rate, cpu) for _ in range(ARGS.rounds)]
            failed[(app.key, endpoint)] = {}
    failed.update(failures or {})
    return bench.report(apps, results, failed, ARGS, META)


def targets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ") and ": 03 " in line]


def test_every_app_and_endpoint_gets_a_row(tmp_path):
    text, clean = make_report(tmp_path)
    rows = [line for line in text.splitlines() if line.startswith("| (")]
    assert len(rows) == sum(len(app.endpoints) for app in bench.define_apps(tmp_path, None))
    assert clean


def test_ratios_are_to_the_bare_hello_world(tmp_path):
    text, _ = make_report(tmp_path, d_rate=4000.0)
    assert "- NOT met: 03 read ≥ 0.6 × bare Flask: 0.50 ×" in text


@pytest.mark.parametrize(
    ("d_rate", "d_cpu", "verdict"),
    [
        (5100.0, 300.0, "met"),  # faster than 02
        (4900.0, 300.0, "met within noise (3 %)"),  # 2 % slower: noise
        (4000.0, 300.0, "met within noise (3 %)"),  # slower, but no more CPU per request
        (4000.0, 330.0, "NOT met"),  # slower and 10 % more CPU per request
    ],
)
def test_03_against_02(tmp_path, d_rate, d_cpu, verdict):
    text, _ = make_report(tmp_path, d_rate=d_rate, d_cpu=d_cpu)
    line = next(t for t in targets(text) if "not slower than 02" in t)
    assert line.startswith(f"- {verdict}: ")


def test_a_failed_write_fails_the_target_and_the_run(tmp_path):
    text, clean = make_report(tmp_path, failures={("d", "write"): {"HTTP 500": 3}})
    assert "- NOT met: SQLite writes from 16 concurrent clients without errors: 3 failed" in text
    assert "3 × HTTP 500" in text
    assert not clean
