"""The benchmark charts on the performance page, as a reader sees them in Chromium.

bench/report.py writes them as mermaid bar charts into captures/bench.md: each bar
must carry its value, and no two axis labels may overlap, at a desktop's width and
at a phone's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Material renders each diagram into a closed shadow root, out of reach of
# selectors. Open it, so that the SVG can be inspected.
OPEN_SHADOW_ROOTS = """const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
    return attach.call(this, {...init, mode: 'open'});
};"""
# Every text of one chart: the values on the bars, then the axis labels, with their
# boxes on the screen. Mermaid groups the bars as `bar-plot-N` and an axis's labels
# under `label`.
CHART_TEXTS = """svg => {
    const box = e => { const r = e.getBoundingClientRect();
                       return [r.left, r.top, r.right, r.bottom]; };
    const texts = selector => [...svg.querySelectorAll(selector)]
        .map(t => ({text: t.textContent.trim(), box: box(t)}));
    return {
        title: svg.querySelector('.chart-title')?.textContent ?? '',
        bars: [...svg.querySelectorAll('[class^="bar-plot"] rect')].map(box),
        values: texts('[class^="bar-plot"] text'),
        axes: [...svg.querySelectorAll('[class$="-axis"]')].map(axis => ({
            name: axis.getAttribute('class'),
            labels: [...axis.querySelectorAll('.label text')]
                .map(t => ({text: t.textContent.trim(), box: box(t)})),
        })),
    };
}"""


def expected_bars() -> list[list[str]]:
    """The values of each chart's bars, as captures/bench.md gives them to mermaid."""
    text = (ROOT / "captures/bench.md").read_text()
    return [line.split(", ") for line in re.findall(r"^ +bar \[(.*)\]$", text, re.M)]


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [1400, 390])
def test_every_bar_shows_its_value_and_no_axis_labels_overlap(page, problems, base_url, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.add_init_script(OPEN_SHADOW_ROOTS)
    page.goto(base_url + "performance/", wait_until="networkidle")
    page.locator("div.mermaid svg").first.wait_for()
    charts = [
        chart
        for chart in (svg.evaluate(CHART_TEXTS) for svg in page.locator("div.mermaid svg").all())
        if "answers per second" in chart["title"]
    ]
    expected = expected_bars()
    assert len(charts) == len(expected) == 2, [chart["title"] for chart in charts]
    for chart, values in zip(charts, expected, strict=True):
        title = chart["title"]
        assert "(s)" not in title
        assert len(chart["bars"]) == len(values), title
        # One label per bar, with the bar's value, drawn within that bar's row.
        assert [label["text"] for label in chart["values"]] == values, title
        for label, bar in zip(chart["values"], chart["bars"], strict=True):
            middle = (label["box"][1] + label["box"][3]) / 2
            assert bar[1] <= middle <= bar[3], (title, label)
        labels = [(axis["name"], label) for axis in chart["axes"] for label in axis["labels"]]
        # The apps' names are axis labels, so there is something to compare.
        assert len(labels) >= len(values), title
        for n, (axis, label) in enumerate(labels):
            for _, other in labels[n + 1 :]:
                assert not overlap(label["box"], other["box"]), (title, axis, label, other)
    assert "(s)" not in page.locator("article").inner_text()
    assert not problems, problems.report()
