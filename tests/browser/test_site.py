"""The built docs site, driven in Chromium: pages, navigation, search, diffs, diagram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mkdocs.config import load_config

from tools import docs_hooks

ROOT = Path(__file__).resolve().parents[2]


def nav_pages() -> list[tuple[str, str]]:
    """(title, url path) of every page in the mkdocs.yml nav, in order."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    found = []

    def walk(items, title=None):
        for item in items:
            if isinstance(item, str):
                found.append((title or item, item))
            elif isinstance(item, dict):
                for key, value in item.items():
                    if isinstance(value, str):
                        found.append((key, value))
                    else:
                        walk(value, key)

    walk(config["nav"])
    return [(title, url_of(src)) for title, src in found]


def url_of(src: str) -> str:
    """'chapters/01-minimal.md' -> 'chapters/01-minimal/'; 'index.md' -> ''."""
    path = src.removesuffix(".md")
    if path == "index" or path.endswith("/index"):
        return path.removesuffix("index")
    return path + "/"


def code_text(page) -> list[str]:
    """The text of every code block on the page, as the reader sees it."""
    return page.eval_on_selector_all("pre > code", "els => els.map(e => e.textContent)")


def normalize_listing(text: str) -> str:
    """Code as shown and as read compare equal: no trailing spaces, no blank ends."""
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


NAV = nav_pages()


@pytest.mark.parametrize("url", [u for _, u in NAV], ids=[u or "home" for _, u in NAV])
def test_page_loads_cleanly(page, problems, base_url, url):
    response = page.goto(base_url + url, wait_until="networkidle")
    assert response is not None and response.status == 200
    assert page.locator("article h1").first.inner_text().strip()
    # Leave time for deferred work (mermaid, search index) to log an error.
    page.wait_for_timeout(300)
    assert not problems, f"{url or 'home'}:\n{problems.report()}"


def test_nav_links_match_mkdocs_yml_and_work(page, problems, base_url):
    page.goto(base_url, wait_until="networkidle")
    links = page.eval_on_selector_all(
        "nav.md-nav--primary a.md-nav__link[href]",
        "els => els.map(e => new URL(e.href).pathname)",
    )
    assert {"/" + url for _, url in NAV} <= set(links)

    # Click through the sidebar, and check each click lands on the right page.
    for title, url in NAV[1:4]:
        page.locator("nav.md-nav--primary").get_by_role("link", name=title, exact=True).click()
        page.wait_for_url(base_url + url)
        assert page.locator("article h1").first.inner_text().strip()
    # The footer's "next" link goes on from chapter 03 to the next page.
    page.locator("a.md-footer__link--next").click()
    page.wait_for_url(base_url + NAV[4][1])
    assert not problems, problems.report()


def test_search_finds_a_word_from_a_chapter(page, problems, base_url):
    page.goto(base_url, wait_until="networkidle")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    # Material searches on key events, so type the word rather than paste it.
    page.locator("input.md-search__input").press_sequentially("scoped_session", delay=20)
    results = page.locator("li.md-search-result__item a.md-search-result__link")
    results.first.wait_for()
    hrefs = results.evaluate_all("els => els.map(e => e.href)")
    assert any("chapters/03-plain-sqlalchemy/" in h for h in hrefs), hrefs
    page.locator(
        "li.md-search-result__item a.md-search-result__link[href*='chapters/03-plain-sqlalchemy/']"
    ).first.click()
    page.wait_for_url(re.compile(r".*/chapters/03-plain-sqlalchemy/.*"))
    assert "Plain SQLAlchemy" in page.locator("article h1").first.inner_text()
    assert not problems, problems.report()


def test_listing_is_the_chapter_file_as_it_is_now(page, base_url):
    """The code shown on the page equals the names read from the file right now."""
    section = docs_hooks.read_part(
        ROOT / "chapters/03-plain-sqlalchemy", "blog/db.py:Base,Session,configure"
    )
    page.goto(base_url + "chapters/03-plain-sqlalchemy/", wait_until="networkidle")
    assert normalize_listing(section) in [normalize_listing(t) for t in code_text(page)]


def test_diff_tab_shows_the_lines_that_changed(page, base_url):
    """Open the generated blog/api.py tab; the lines that differ between the chapter files
    (read here, at test time) are the + and - lines shown in it."""
    old = (ROOT / "chapters/02-factory/blog/api.py").read_text("utf-8").splitlines()
    new = (ROOT / "chapters/03-plain-sqlalchemy/blog/api.py").read_text("utf-8").splitlines()
    added = [x for x in new if x.strip() and x not in old]
    removed = [x for x in old if x.strip() and x not in new]
    assert added and removed, "chapter 02 and 03 api.py are expected to differ"

    page.goto(base_url + "chapters/03-plain-sqlalchemy/", wait_until="networkidle")
    label = page.locator(".tabbed-labels > label", has_text=re.compile(r"^blog/api\.py$"))
    label.click()
    text = label.evaluate(
        """label => {
            const set = label.closest('.tabbed-set');
            const index = [...set.querySelector('.tabbed-labels').children].indexOf(label);
            const block = set.querySelectorAll(':scope > .tabbed-content > .tabbed-block')[index];
            return block.offsetParent === null ? null : block.innerText;
        }"""
    )
    assert text is not None, "the blog/api.py tab did not become visible"
    shown = text.splitlines()
    for line in added:
        assert "+" + line in shown, f"missing added line: {line}"
    for line in removed:
        assert "-" + line in shown, f"missing removed line: {line}"


def test_mermaid_diagram_renders_to_svg(browser_context, problems, base_url):
    page = browser_context.new_page()
    # Material renders each diagram into a closed shadow root, out of reach of
    # selectors. Open it for this test so the SVG can be inspected.
    page.add_init_script(
        """const attach = Element.prototype.attachShadow;
        Element.prototype.attachShadow = function (init) {
            return attach.call(this, {...init, mode: 'open'});
        };"""
    )
    page.on("console", lambda m: m.type == "error" and problems.console.append(m.text))
    page.on("pageerror", lambda e: problems.console.append(f"uncaught: {e}"))
    page.on(
        "request",
        lambda r: (
            r.url.startswith(base_url)
            or r.url.startswith("data:")
            or problems.external.append(r.url)
        ),
    )
    page.goto(base_url, wait_until="networkidle")
    svg = page.locator("div.mermaid svg")
    svg.wait_for()
    box = svg.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 20
    labels = svg.text_content() or ""
    for name in ("01 · One file", "02 · The factory", "03 · Plain SQLAlchemy"):
        assert name in labels
    # The vendored copy was used: window.mermaid exists and came from this server.
    assert page.evaluate("typeof window.mermaid") == "object"
    page.close()
    assert not problems, problems.report()
