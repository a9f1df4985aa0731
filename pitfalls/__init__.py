"""Every pitfall the docs warn about, made to happen for real.

Each demonstration is a script that prints what happened. ``python -m pitfalls``
runs them (all, or those named); ``pitfalls/tests`` asserts on their output and
``tools/capture.py`` stores it, normalised, in ``captures/`` for the docs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Capture name -> (script, part). A docs page shows one or more captures.
DEMOS = {
    "reloader-naive": ("pitfalls/reloader/demo.py", "naive"),
    "reloader-no-reload": ("pitfalls/reloader/demo.py", "no_reload"),
    "reloader-chapter": ("pitfalls/reloader/demo.py", "chapter"),
}


def run_demo(name: str) -> str:
    """Run one demonstration in a fresh process and return what it printed."""
    script, part = DEMOS[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / script), part],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script} {part} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
