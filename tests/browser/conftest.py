"""Fixtures for the browser tests: a built site, a local server, a Chromium.

Nothing is downloaded: Playwright drives Debian's Chromium, or one Playwright
downloaded earlier (see chromium.py), through ``executable_path``, and every
request that would leave 127.0.0.1 is blocked and reported as a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import chromium
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_sessionstart(session) -> None:
    """No Chromium: stop now, with the command that installs one, before building anything."""
    if chromium.find() is None:
        pytest.exit(chromium.missing_message(), returncode=1)


def pytest_report_header() -> str:
    found = chromium.find()
    return f"chromium: {found[0]} ({found[1]})" if found else "chromium: none"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site, built by the same command as `nox -s docs`, into a temp dir."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, "mkdocs build failed:\n" + result.stdout + result.stderr
    return out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature is inherited
        pass


@pytest.fixture(scope="session")
def base_url(site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1, on a free port, from a thread."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory, base_url: str):
    executable, _ = chromium.find()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        yield context
        context.close()


@dataclass
class Problems:
    """Everything that went wrong while a page was open."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.console or self.failed or self.external)

    def report(self) -> str:
        lines = [f"console: {x}" for x in self.console]
        lines += [f"failed request: {x}" for x in self.failed]
        lines += [f"left 127.0.0.1: {x}" for x in self.external]
        return "\n".join(lines)


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser_context, problems: Problems):
    """A new tab that records console errors, failed requests and outside requests."""
    page = browser_context.new_page()

    def route(route):
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            problems.external.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.console.append(m.text))
    page.on("pageerror", lambda e: problems.console.append(f"uncaught: {e}"))
    page.on(
        "requestfailed",
        lambda r: problems.failed.append(f"{r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.failed.append(f"{r.url} (HTTP {r.status})"),
    )
    yield page
    page.close()
