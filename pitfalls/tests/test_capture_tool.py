"""tools/capture.py: what ``--check`` compares, and that every capture is on a page."""

import pytest

from pitfalls import DEMOS
from tools import capture
from tools.capture import comparable, shown_by

BODY = "$ flask --app blog run\n * Debug mode: off\n"


@pytest.mark.parametrize("name", DEMOS)
def test_every_capture_is_shown_on_a_page(name):
    assert shown_by(name), f"no page under docs/ includes captures/{name}.txt"


def test_a_page_without_the_include_does_not_count(tmp_path):
    (tmp_path / "page.md").write_text("Shown as `captures/reloader-naive.txt` in prose only.\n")
    assert shown_by("reloader-naive", docs=tmp_path) == []
    (tmp_path / "page.md").write_text('```text\n--8<-- "captures/reloader-naive.txt"\n```\n')
    assert shown_by("reloader-naive", docs=tmp_path) == [tmp_path / "page.md"]


def test_the_versions_line_is_not_compared():
    old = "# verified with Python 3.11.7, SQLite 3.40.1\n" + BODY
    new = "# verified with Python 3.11.2, SQLite 3.45.0\n" + BODY
    assert comparable(old) == comparable(new)


def test_what_the_demonstration_printed_is_compared():
    header = "# verified with Python 3.11.7\n"
    assert comparable(header + BODY) != comparable(header + BODY.replace("off", "on"))
    assert comparable(header + BODY) != comparable(header)


def test_only_timing_counts_are_masked():
    assert comparable("18 of 60 requests failed\n") == comparable("23 of 60 requests failed\n")
    # The start-up race is held at its gap, so its count no longer depends on timing.
    assert comparable("7 of 10 trials had a failure\n") != comparable(
        "5 of 10 trials had a failure\n"
    )
    assert comparable("18 of 60 requests failed\n") != comparable("18 of 61 requests failed\n")
    assert comparable("GET /healthz -> 200, answered in 32.3 s\n") == comparable(
        "GET /healthz -> 200, answered in 11.6 s\n"
    )
    assert comparable("GET /healthz -> 200, answered in 32.3 s\n") != comparable(
        "GET /healthz -> 503, answered in 32.3 s\n"
    )
    assert comparable("GET /users -> 3 user(s)\n") != comparable("GET /users -> 2 user(s)\n")


@pytest.mark.parametrize(
    ("name", "committed", "edited"),
    [
        # The naive pool must fail some requests, the chapter none.
        ("sqlite-locks-pool-naive", "26 of 60 requests failed", "0 of 60 requests failed"),
        ("sqlite-locks-pool-chapter", "0 of 60 requests failed", "2 of 60 requests failed"),
        # A request waits at least the worker timeout: 30 s by default.
        ("slow-clients-default", "answered in 36.1 s", "answered in 3.6 s"),
        # The shipped 10 s timeout ends the wait, long before the default's 30 s.
        ("slow-clients-shipped", "answered in 14.9 s", "answered in 31.2 s"),
    ],
)
def test_the_check_fails_a_committed_figure_that_breaks_the_tests_rules(
    tmp_path, monkeypatch, name, committed, edited
):
    text = (capture.CAPTURES / f"{name}.txt").read_text()
    assert committed in text
    # The demonstration "printed" the committed capture: no demo runs here, and the
    # masked comparison alone cannot tell the edited figure from the committed one.
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / f"{name}.txt").write_text(text.partition("\n")[2])
    monkeypatch.setenv("PITFALLS_OUTPUT", str(outputs))
    monkeypatch.setattr(capture, "CAPTURES", tmp_path / "captures")
    (tmp_path / "captures").mkdir()
    (tmp_path / "captures" / f"{name}.txt").write_text(text)
    assert capture.check([name]) == 0
    (tmp_path / "captures" / f"{name}.txt").write_text(text.replace(committed, edited))
    assert comparable(text.replace(committed, edited)) == comparable(text)
    assert capture.check([name]) == 1


def test_every_masked_figure_has_a_rule():
    for name in DEMOS:
        text = (capture.CAPTURES / f"{name}.txt").read_text()
        assert capture.judged(name, text) is None, name
    assert "no test rule" in capture.judged("reloader-naive", "5 of 60 requests failed\n")
