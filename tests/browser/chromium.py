"""Which Chromium the browser tests drive, and the command that installs one.

In order: $CHROMIUM if set; Debian's package (/usr/bin/chromium); a Chromium
that Playwright has already downloaded (its cache folder, or
$PLAYWRIGHT_BROWSERS_PATH). Nothing is downloaded here. Standard library only,
so the nox session can ask before it installs anything:

    python tests/browser/chromium.py    # prints the browser, or the fix and exits 1
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

SYSTEM = (Path("/usr/bin/chromium"),)  # Debian's `chromium` package
# Inside Playwright's chromium-<revision> folders: current layouts, then older ones.
IN_PLAYWRIGHT = {
    "chromium": (
        "chrome-linux64/chrome",
        "chrome-linux-arm64/chrome",
        "chrome-linux/chrome",
        "chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
        "chrome-mac-x64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
        "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
        "chrome-win64/chrome.exe",
        "chrome-win/chrome.exe",
    ),
    "chromium_headless_shell": (
        "chrome-headless-shell-linux64/chrome-headless-shell",
        "chrome-headless-shell-linux-arm64/chrome-headless-shell",
        "chrome-headless-shell-mac-arm64/chrome-headless-shell",
        "chrome-headless-shell-mac-x64/chrome-headless-shell",
        "chrome-headless-shell-win64/chrome-headless-shell.exe",
        "chrome-linux/headless_shell",
    ),
}


def playwright_cache() -> Path:
    """Where `playwright install` puts browsers on this platform."""
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "0") != "0":
        return Path(os.environ["PLAYWRIGHT_BROWSERS_PATH"])
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library/Caches/ms-playwright"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData/Local") / "ms-playwright"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "ms-playwright"


def find(
    system: tuple[Path, ...] | None = None, cache: Path | None = None
) -> tuple[Path, str] | None:
    """(executable, where it comes from), or None when there is no Chromium to use."""
    if os.environ.get("CHROMIUM"):
        return Path(os.environ["CHROMIUM"]), "$CHROMIUM"
    for path in SYSTEM if system is None else system:
        if path.is_file() and os.access(path, os.X_OK):
            return path, "Debian's chromium package"
    cache = cache or playwright_cache()
    for kind, layouts in IN_PLAYWRIGHT.items():  # the full browser before the headless shell
        folders = [p for p in cache.glob(f"{kind}-*") if p.name[len(kind) + 1 :].isdigit()]
        for folder in sorted(folders, key=lambda p: int(p.name[len(kind) + 1 :]), reverse=True):
            for layout in layouts:
                if (folder / layout).is_file():
                    return folder / layout, f"Playwright's download ({folder.name})"
    return None


def fix_command(
    platform: str = sys.platform, distro: str | None = None, root: bool | None = None
) -> str:
    """The command that gets a Chromium on this machine (or the one described)."""
    if distro is None:
        distro = _os_release_id()
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    if platform == "linux" and distro == "debian":
        return ("" if root else "sudo ") + "apt-get install -y chromium"
    # Elsewhere (macOS, Windows, other Linux): Playwright downloads its own build.
    python = "python" if platform == "win32" else "python3"
    return f"{python} noxfile.py -s install-chromium"


def missing_message() -> str:
    return (
        f"No Chromium for the browser tests: not at {', '.join(map(str, SYSTEM))}, "
        f"none downloaded by Playwright under {playwright_cache()}, and $CHROMIUM is not set.\n"
        f"Install one with:\n\n    {fix_command()}\n"
    )


def _os_release_id() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return ""
    match = re.search(r"^ID=\"?([^\"\n]*)", text, re.MULTILINE)
    return match.group(1) if match else ""


if __name__ == "__main__":
    found = find()
    if found is None:
        sys.exit(missing_message())
    path, source = found
    if not path.is_file():
        sys.exit(f"$CHROMIUM is {path}, which is not a file.")
    print(f"Chromium: {path} ({source})")
