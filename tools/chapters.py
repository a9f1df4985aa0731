"""The one list of chapters: every folder under ``chapters/`` with a ``pyproject.toml``.

Everything in the repository that loops over chapters (nox sessions, the docs
hook, the pitfall demonstrations, the benchmark, the copy-out test) asks here,
so adding ``chapters/05-...`` needs no other list to be edited.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = ROOT / "chapters"


def chapters(root: Path = ROOT) -> dict[str, Path]:
    """``{"01": .../chapters/01-minimal, ...}`` in order, found from the folder.

    ``root`` is the repository (another one, e.g. a copy made by a test).
    """
    found = {}
    for path in sorted((root / "chapters").iterdir()):
        number, _, name = path.name.partition("-")
        if path.is_dir() and number.isdigit() and name and (path / "pyproject.toml").is_file():
            found[number] = path
    return found
