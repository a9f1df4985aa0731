"""Which Chromium the browser tests pick, on made-up folders (no browser is started)."""

from __future__ import annotations

from pathlib import Path

import chromium
import pytest


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)


def test_debians_chromium_comes_first(tmp_path):
    system = executable(tmp_path / "usr/bin/chromium")
    executable(tmp_path / "cache/chromium-1255/chrome-linux64/chrome")
    assert chromium.find((system,), tmp_path / "cache") == (system, "Debian's chromium package")


def test_then_the_newest_chromium_playwright_downloaded(tmp_path):
    cache = tmp_path / "cache"
    executable(cache / "chromium-1200/chrome-linux/chrome")
    newest = executable(cache / "chromium-1255/chrome-linux64/chrome")
    executable(cache / "chromium_headless_shell-1300/chrome-linux/headless_shell")
    found = chromium.find((tmp_path / "missing",), cache)
    assert found == (newest, "Playwright's download (chromium-1255)")


def test_then_playwrights_headless_shell(tmp_path):
    cache = tmp_path / "cache"
    shell = cache / "chromium_headless_shell-1255/chrome-headless-shell-linux64"
    shell = executable(shell / "chrome-headless-shell")
    assert chromium.find((tmp_path / "missing",), cache)[0] == shell


def test_chromium_variable_overrides_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/opt/my/chrome")
    system = executable(tmp_path / "usr/bin/chromium")
    assert chromium.find((system,), tmp_path) == (Path("/opt/my/chrome"), "$CHROMIUM")


def test_none_found_says_the_command_that_fixes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(chromium, "SYSTEM", (tmp_path / "usr/bin/chromium",))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "cache"))
    assert chromium.find() is None
    message = chromium.missing_message()
    assert str(tmp_path / "cache") in message
    assert f"\n    {chromium.fix_command()}\n" in message


@pytest.mark.parametrize(
    "platform, distro, root, command",
    [
        ("linux", "debian", True, "apt-get install -y chromium"),
        ("linux", "debian", False, "sudo apt-get install -y chromium"),
        ("linux", "fedora", False, "python3 noxfile.py -s install-chromium"),
        ("darwin", "", False, "python3 noxfile.py -s install-chromium"),
        ("win32", "", False, "python noxfile.py -s install-chromium"),
    ],
)
def test_the_fix_fits_the_platform(platform, distro, root, command):
    assert chromium.fix_command(platform, distro, root) == command
