"""Every pinned version runs on the oldest Python the README promises.

The promise is read from the README's own words ("Python 3.11.2 or newer"), so
the README and this check cannot drift apart. A pin whose Requires-Python is
above it breaks the README's two commands on that Python: uv refuses to
install it, and the docs, repo and browser sessions stop before any test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tools import docs_hooks
from tools.chapters import chapters

ROOT = Path(__file__).resolve().parent.parent
# Every file of exact pins a nox session installs from.
PIN_FILES = ("constraints.txt", "requirements/docs.txt", "tests/browser/requirements.txt")
PIN = re.compile(r"([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)")


def promised_python() -> Version:
    # The version boxes of the docs read the promise with the same function.
    return Version(docs_hooks.tested_python(ROOT))


def pins() -> dict[str, tuple[str, str]]:
    """{name: (version, file)} for every exact pin in PIN_FILES."""
    found = {}
    for name in PIN_FILES:
        for line in (ROOT / name).read_text("utf-8").splitlines():
            if match := PIN.fullmatch(line.split("#", 1)[0].strip()):
                found[match[1]] = (match[2], name)
    return found


def test_every_chapter_accepts_the_promised_python():
    floor = promised_python()
    for chapter in chapters().values():
        text = (chapter / "pyproject.toml").read_text("utf-8")
        requires = re.search(r'^requires-python = "(.*)"$', text, re.MULTILINE)[1]
        assert SpecifierSet(requires).contains(floor), f"{chapter.name}: {requires}"


def test_installed_pins_run_on_the_promised_python():
    """Requires-Python of each pin installed in this session (the docs toolchain,
    pytest, SQLAlchemy, ...), read offline from its installed metadata."""
    floor = promised_python()
    checked, too_new = [], []
    for name, (version, source) in pins().items():
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # the next test resolves it
        if installed.version != version:
            continue  # another version here: its metadata says nothing about the pin
        checked.append(name)
        requires = installed.metadata.get("Requires-Python")
        if requires and not SpecifierSet(requires).contains(floor):
            too_new.append(f"{name}=={version} ({source}) requires Python {requires}")
    # The repo session installs the docs pins: a check of nothing would pass.
    assert {"mkdocs", "mkdocs-material", "pymdown-extensions"} <= set(checked)
    assert not too_new, f"README.md promises Python {floor}, but:\n" + "\n".join(too_new)


def test_all_pins_resolve_together_on_the_promised_python(tmp_path):
    """Every pin, installed or not, resolved by uv as for the promised Python."""
    floor = promised_python()
    requirements = tmp_path / "pins.txt"
    requirements.write_text("".join(f"{n}=={v}\n" for n, (v, _) in pins().items()))
    result = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header"]
        + ["--python-version", str(floor), str(requirements)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"README.md promises Python {floor}:\n{result.stderr}"
