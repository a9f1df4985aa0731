"""Every pitfall the docs warn about, made to happen for real.

Each demonstration is a script that prints what happened. ``python -m pitfalls``
runs them (all, or those named); ``pitfalls/tests`` asserts on their output and
``python -m tools.capture`` stores it, normalised, in ``captures/`` for the docs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.chapters import chapters

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHAPTERS = chapters()
# Capture name -> (script, part, chapter whose `blog` package it imports).
# A docs page shows one or more captures.
DEMOS: dict[str, tuple[str, str, str | None]] = {
    "reloader-roles": ("reloader/demo.py", "roles", None),
    "reloader-naive": ("reloader/demo.py", "naive", None),
    "reloader-no-reload": ("reloader/demo.py", "no_reload", None),
    "reloader-locked": ("reloader/demo.py", "locked", None),
    "reloader-chapter": ("reloader/demo.py", "chapter", None),
    "sqlite-locks-naive": ("sqlite_locks/demo.py", "naive", "03"),
    "sqlite-locks-chapter": ("sqlite_locks/demo.py", "chapter", "03"),
    "sqlite-locks-endings": ("sqlite_locks/demo.py", "endings", "03"),
    "sqlite-locks-busy-timeout": ("sqlite_locks/demo.py", "busy_timeout", "03"),
    "sqlite-locks-pool-threads": ("sqlite_locks/pool.py", "threads", "03"),
    "sqlite-locks-pool-naive": ("sqlite_locks/pool.py", "naive", "03"),
    "sqlite-locks-pool-chapter": ("sqlite_locks/pool.py", "chapter", None),
    "slow-clients-default": ("slow_clients/demo.py", "default", None),
    "slow-clients-shipped": ("slow_clients/demo.py", "shipped", None),
    "startup-race-naive": ("startup_race/demo.py", "naive", "03"),
    "startup-race-chapter": ("startup_race/demo.py", "chapter", "03"),
    "drop-all-naive": ("drop_all/demo.py", "naive", None),
    "drop-all-chapter": ("drop_all/demo.py", "chapter", None),
    "circular-imports-naive": ("circular_imports/demo.py", "naive", None),
    "circular-imports-late-import": ("circular_imports/demo.py", "late_import", None),
    "circular-imports-chapter-03": ("circular_imports/demo.py", "chapter_03", None),
    "circular-imports-chapter-02": ("circular_imports/demo.py", "chapter_02", None),
    "app-context-naive": ("app_context/demo.py", "extension", None),
    "app-context-with-app": ("app_context/demo.py", "extension_with_app", None),
    "app-context-chapter-03": ("app_context/demo.py", "plain", None),
    "flask-env-naive": ("flask_env/demo.py", "old_way", None),
    "flask-env-debug": ("flask_env/demo.py", "new_way", None),
    "cli-context": ("cli_context/demo.py", "commands", "02"),
    "orm-sql": ("orm_sql/demo.py", "statements", "03"),
    "safety-responses": ("bad_input/demo.py", "responses", "03"),
}


def run_demo(name: str, again: bool = False) -> str:
    """Run one part of a demonstration in a fresh process and return what it printed.

    With ``PITFALLS_OUTPUT`` set to a folder, each output is kept there and reused:
    ``nox -s pitfalls`` lets the comparison with captures/ read what the tests saw.
    ``again=True`` runs it even so, and keeps the new output.
    """
    keep = os.environ.get("PITFALLS_OUTPUT")
    kept = Path(keep) / f"{name}.txt" if keep else None
    if kept is not None and kept.exists() and not again:
        return kept.read_text()
    script, part, chapter = DEMOS[name]
    path = [ROOT] + ([CHAPTERS[chapter]] if chapter else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
    result = subprocess.run(
        [sys.executable, str(HERE / script), part],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} {part} failed:\n{result.stdout}\n{result.stderr}")
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(result.stdout)
    return result.stdout
