"""The capacity capture was measured on the code that is in the repository.

captures/capacity.json records a digest of bench/capacity/ (report.py aside: it only
reads the record) and of chapter 08's blog/ and gunicorn.conf.py; a change to
either without a new run
(``python3 noxfile.py -s capacity``) fails here, so docs/capacity.md never shows
figures of code that no longer exists. captures/capacity.md must be what
bench/capacity/report.py makes of the .json: the page's arithmetic is never typed.
"""

from __future__ import annotations

import json

from bench.capacity import report

RERUN = "run `python3 noxfile.py -s capacity`"


def recorded() -> dict:
    return json.loads(report.CAPTURE.read_text())


def test_capture_matches_the_code() -> None:
    assert recorded()["meta"]["digest"] == report.digest(), (
        "bench/capacity/ or chapter 08's app changed since captures/capacity.* "
        f"was written: {RERUN}"
    )


def test_markdown_is_the_report_of_the_json() -> None:
    written = report.CAPTURE.with_suffix(".md").read_text()
    assert written == report.render(recorded()), (
        "captures/capacity.md is not what bench/capacity/report.py makes of capacity.json: "
        "run `python -m bench.capacity.report`"
    )


def test_runs_are_whole_and_clean() -> None:
    run = recorded()
    assert report.problems(run) == []
    assert run["meta"]["gunicorn_workers"] == report.chapter_workers()
    assert len(run["runs"]) >= 3
    jobs = set(run["runs"][0]["rounds"])
    for one in run["runs"]:
        assert set(one["rounds"]) == set(one["warmup"]) == jobs
        assert all(len(results) == run["meta"]["rounds"] >= 3 for results in one["rounds"].values())
        # Every job in every round, each round of a run in its own order.
        assert all(sorted(order) == sorted(jobs) for order in one["orders"])
        assert len({order[0] for order in one["orders"]}) == len(one["orders"])
