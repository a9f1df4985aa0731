"""The site as a reader sees it, at 1400 px and 390 px wide.

Each test measures what the reader would see (a word split over two lines, a
label too small to read, a line cut off at the right edge), and the last two
check that the rules of docs/assets/extra.css reach the pages at all.
"""

from __future__ import annotations

import pytest
from test_site import NAV

WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}

# Letters and digits only: a cell may wrap after "/", "_", "." or "-", never inside
# a run of letters ("blog/users.p" + "y", "/api/auth/logi" + "n").
BROKEN_WORDS = """() => {
    document.querySelectorAll("article details").forEach(d => d.open = true);
    let checked = 0;
    const broken = [];
    for (const cell of document.querySelectorAll("article td, article th")) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node; (node = walker.nextNode()); ) {
            for (const m of node.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const rects = [...range.getClientRects()].filter(r => r.width > 0);
                if (!rects.length) continue;  // not rendered
                checked += 1;
                if (new Set(rects.map(r => Math.round(r.top))).size > 1)
                    broken.push(`${m[0]} in "${cell.textContent.trim().slice(0, 70)}"`);
            }
        }
    }
    return {checked, broken};
}"""

# Every tab's content shown at once, so tables in inactive tabs are measured too.
SHOW_ALL_TABS = ".tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }"

OPEN_SHADOW_ROOTS = """const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
    return attach.call(this, {...init, mode: 'open'});
};"""


SIDEBAR_FIRST_ITEM = """() => {
    const link = document.querySelector("nav.md-nav--primary > ul > li:first-child > a");
    const title = document.querySelector("nav.md-nav--primary > .md-nav__title");
    const box = link.getBoundingClientRect();
    // Left edge top and bottom, and centre: what the reader sees there. A long
    // navigation may scroll "Home" out of its box; it must never sit under the title.
    const points = [[box.left + 2, box.top + 2], [box.left + 2, box.bottom - 2],
                    [box.left + box.width / 2, box.top + box.height / 2]];
    const covered = points.filter(([x, y]) => {
        const seen = document.elementFromPoint(x, y);
        return seen && title && title.contains(seen);
    });
    return {text: link.textContent.trim(), covered: covered.length,
            top: box.top, bottom: box.bottom};
}"""

CAPTURES = """() => [...document.querySelectorAll("article .language-text pre > code")]
    .filter(code => code.offsetParent !== null)
    .map(code => ({
        name: code.closest(".highlight").querySelector(".filename")?.textContent || "text",
        overflow: code.scrollWidth - code.clientWidth,
    }))"""


@pytest.fixture
def wide(page):
    page.set_viewport_size(WIDE)
    return page


def survey(browser_context, base_url: str, viewport: dict, script: str) -> dict[str, object]:
    """``script``'s answer on every page of the nav, each page loaded once."""
    page = browser_context.new_page()
    page.set_viewport_size(viewport)
    found = {}
    for _, url in NAV:
        page.goto(base_url + url, wait_until="load")
        page.add_style_tag(content=SHOW_ALL_TABS)
        found[url or "home"] = page.evaluate(script)
    page.close()
    return found


@pytest.fixture(scope="module")
def wide_survey(browser_context, base_url) -> dict[str, dict]:
    """Every page at 1400 px: its table cells, its sidebar and its captures."""
    script = f"() => ({{words: ({BROKEN_WORDS})(), sidebar: ({SIDEBAR_FIRST_ITEM})(), "
    script += f"captures: ({CAPTURES})()}})"
    return survey(browser_context, base_url, WIDE, script)


def test_no_word_is_broken_inside_a_table_cell(wide_survey):
    broken = [f"{url}: {word}" for url, x in wide_survey.items() for word in x["words"]["broken"]]
    assert sum(x["words"]["checked"] for x in wide_survey.values()) > 500
    assert not broken, "words split over two lines in a table cell:\n" + "\n".join(broken)


def test_the_word_check_sees_a_broken_word(wide, base_url):
    """The check above on a page whose table cells do break words: it must say so."""
    wide.goto(base_url + "chapters/05-accounts/", wait_until="load")
    found = wide.evaluate(BROKEN_WORDS)
    assert found["checked"] > 50 and not found["broken"]
    wide.add_style_tag(content="article td { word-break: break-all !important; }")
    assert wide.evaluate(BROKEN_WORDS)["broken"]


DIAGRAM_TEXT = """() => {
    const body = parseFloat(getComputedStyle(document.querySelector("article p")).fontSize);
    const svg = document.querySelector("div.mermaid").shadowRoot.querySelector("svg");
    const labels = [...svg.querySelectorAll("foreignObject")].map(fo => {
        // The size on screen: the font size times the scale the SVG is drawn at.
        const scale = fo.getScreenCTM().a;
        const text = fo.querySelector("span, p, div");
        return {
            text: fo.textContent.trim(),
            px: parseFloat(getComputedStyle(text).fontSize) * scale,
        };
    }).filter(label => label.text);
    return {body, labels};
}"""


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1400px", "390px"])
def test_diagram_text_is_at_least_the_body_size(browser_context, base_url, viewport):
    page = browser_context.new_page()
    page.add_init_script(OPEN_SHADOW_ROOTS)  # Material draws the diagram in a closed one
    page.set_viewport_size(viewport)
    page.goto(base_url, wait_until="networkidle")
    page.locator("div.mermaid svg").wait_for()
    found = page.evaluate(DIAGRAM_TEXT)
    page.close()
    texts = " ".join(label["text"] for label in found["labels"])
    assert "01 · One file" in texts and "keep everything else" in texts, texts
    small = [f"{x['text']!r}: {x['px']:.1f} px" for x in found["labels"] if x["px"] < found["body"]]
    assert not small, f"diagram text under the body size ({found['body']} px):\n" + "\n".join(small)


def test_the_sidebars_first_item_is_never_under_its_title(wide_survey):
    """On pages low in the navigation the sidebar scrolls to them: "Home" may scroll out
    of view, but must not end up half hidden under the sidebar's title."""
    assert {x["sidebar"]["text"] for x in wide_survey.values()} == {NAV[0][0]}
    hidden = [f"{url}: {x['sidebar']}" for url, x in wide_survey.items() if x["sidebar"]["covered"]]
    assert not hidden, "the sidebar's first item is under its title:\n" + "\n".join(hidden)


def cut_captures(found: dict[str, list[dict]]) -> list[str]:
    seen = sum(
        block["name"].startswith("captures/") for blocks in found.values() for block in blocks
    )
    assert seen >= 20, f"only {seen} captures found on the pages"
    return [
        f"{url}: {b['name']} ({b['overflow']} px hidden)"
        for url, blocks in found.items()
        for b in blocks
        if b["overflow"] > 0
    ]


def test_no_captured_line_runs_past_the_right_edge_at_1400px(wide_survey):
    """Captured output wraps: the end of a long line is often the error that matters."""
    cut = cut_captures({url: x["captures"] for url, x in wide_survey.items()})
    assert not cut, "lines cut off at the right edge:\n" + "\n".join(cut)


def test_no_captured_line_runs_past_the_right_edge_at_390px(browser_context, base_url):
    cut = cut_captures(survey(browser_context, base_url, NARROW, CAPTURES))
    assert not cut, "lines cut off at the right edge:\n" + "\n".join(cut)


# --------------------------------------------------------------------------- extra.css

# What each rule of docs/assets/extra.css changes, read from the page: each value
# differs from what the theme alone gives.
CSS_RULES = {
    "diff lines coloured across the block": (
        "chapters/03-plain-sqlalchemy/",
        """() => getComputedStyle(document.querySelector(".language-diff .gi")).display
            === "inline-block\"""",
    ),
    "code in table cells breaks between words only": (
        "chapters/05-accounts/",
        """() => getComputedStyle(document.querySelector("article td code")).wordBreak
            === "normal\"""",
    ),
    "captured output wraps": (
        "pitfalls/sqlite-locks/",
        """() => getComputedStyle(document.querySelector(".language-text pre > code"))
            .whiteSpace === "pre-wrap\"""",
    ),
    "wrapped captured lines are indented": (
        "pitfalls/sqlite-locks/",
        """() => getComputedStyle(
            document.querySelector(".language-text pre > code > span[id^='__span-']")
        ).textIndent.startsWith("-")""",
    ),
    "no sidebar title over the list on wide screens": (
        "errata/",
        """() => getComputedStyle(document.querySelector("nav.md-nav--primary > .md-nav__title"))
            .display === "none\"""",
    ),
}


def css_rules_applied(page, base_url: str) -> dict[str, bool]:
    page.set_viewport_size(WIDE)
    applied = {}
    for name, (url, check) in CSS_RULES.items():
        page.goto(base_url + url, wait_until="load")
        applied[name] = page.evaluate(check)
    return applied


def test_the_sites_css_rules_apply(page, base_url):
    applied = css_rules_applied(page, base_url)
    assert all(applied.values()), {name: ok for name, ok in applied.items() if not ok}


def test_without_extra_css_every_rule_check_fails(page, base_url):
    """Serve an empty extra.css: each check above must notice, so none passes on the
    theme's own styles."""
    page.route("**/assets/extra.css", lambda route: route.fulfill(body="", content_type="text/css"))
    applied = css_rules_applied(page, base_url)
    assert not any(applied.values()), {name: ok for name, ok in applied.items() if ok}
