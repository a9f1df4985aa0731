"""Make ``python3 noxfile.py`` work on a machine that has only Python.

It creates .nox/_bootstrap with nox (and uv, which nox uses when present),
then runs the noxfile again with that interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path


def reexec_with_nox(noxfile: str) -> None:
    root = Path(noxfile).resolve().parent
    env_dir = root / ".nox" / "_bootstrap"
    python = env_dir / "bin" / "python"
    if not python.exists():
        print(f"nox is not installed; installing it into {env_dir} ...", file=sys.stderr)
        venv.create(env_dir, with_pip=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "nox>=2025.2", "uv>=0.5"], check=True
        )
    # Put the environment's bin first so nox finds uv.
    os.environ["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(python, [str(python), noxfile, *sys.argv[1:]])
