"""hello.py: the smallest app answers, and app.run() only runs as a script."""

import subprocess
import sys
from pathlib import Path

import hello

HERE = Path(__file__).parent.parent


def test_hello_world():
    response = hello.app.test_client().get("/")
    assert response.status_code == 200
    assert response.data == b"Hello, World!"


def test_importing_hello_does_not_start_a_server():
    # `flask run` imports the module; if app.run() were not guarded, this
    # import would block forever serving requests. It returns at once.
    result = subprocess.run(
        [sys.executable, "-c", "import hello; print(hello.__name__)"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"
