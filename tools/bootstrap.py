"""Make ``python3 noxfile.py`` work on a machine that has only Python.

It creates .nox/_bootstrap with nox and uv, then runs the noxfile again with
that interpreter. nox sets sessions up with uv when it finds one, and with
virtualenv and pip otherwise, which is slower: so a nox that came without
uv is swapped for this one too.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REQUIREMENTS = ("nox>=2025.2,<2027", "uv>=0.5,<1")


def has_uv() -> bool:
    """Whether nox will find uv: $UV, `uv` on PATH, or the uv package beside nox."""
    return bool(os.environ.get("UV") or shutil.which("uv") or importlib.util.find_spec("uv"))


def reexec_with_nox(noxfile: str) -> None:
    root = Path(noxfile).resolve().parent
    env_dir = root / ".nox" / "_bootstrap"
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    if Path(sys.prefix).resolve() == env_dir.resolve():
        return  # already running here: nothing better to switch to
    if not (python.exists() and any(bin_dir.glob("uv*")) and any(bin_dir.glob("nox*"))):
        print(f"Installing nox and uv into {env_dir} ...", file=sys.stderr)
        try:
            try:
                venv.create(env_dir, with_pip=True)
            except subprocess.CalledProcessError:
                # Debian and Ubuntu split ensurepip, which venv needs, into a package.
                if importlib.util.find_spec("nox") is None:
                    sys.exit(
                        f"Could not create {env_dir}: this Python's venv cannot install pip."
                        "\nDebian and Ubuntu: apt-get install -y python3-venv"
                    )
                raise
            subprocess.run([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            if importlib.util.find_spec("nox") is None:
                raise
            print(
                f"... failed ({error}); going on with the nox already installed.", file=sys.stderr
            )
            return
    # Put the environment's bin first so nox finds uv.
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(python, [str(python), noxfile, *sys.argv[1:]])
