"""What one login costs at chapter 05's shipped password hashing, on this machine.

    .nox/chapter-05/bin/python bench/login_cost.py [--logins 15]

Registers one account on a throwaway SQLite database, then logs in ``--logins``
times through Flask's test client (no server, no network) and prints the median,
the fastest and the slowest, with the CPU that did the work. Almost all of a
login is the scrypt check; the script also times that alone, and a check at
Werkzeug's default cost for comparison.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "05-accounts"
sys.path.insert(0, str(CHAPTER))

from werkzeug.security import check_password_hash, generate_password_hash  # noqa: E402

from blog import auth, create_app, migrate  # noqa: E402
from blog.db import Session  # noqa: E402

PASSWORD = "correct horse battery staple"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(action, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def summary(name: str, seconds: list[float]) -> str:
    median, fastest, slowest = (1000 * f(seconds) for f in (statistics.median, min, max))
    return f"{name:22} median {median:6.0f} ms  (fastest {fastest:.0f}, slowest {slowest:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=15)
    logins = parser.parse_args().logins
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "DATABASE_URL": f"sqlite:///{tmp}/b.sqlite",
                "LOG_LEVEL": "WARNING",  # no line per request
            }
        )
        migrate.upgrade(Session.get_bind())
        client = app.test_client()
        account = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
        assert client.post("/api/users", json=account).status_code == 201

        def log_in() -> None:
            response = client.post(
                "/api/auth/login", json={"username": "ada", "password": PASSWORD}
            )
            assert response.status_code == 200, response.json

        log_in()  # warm-up: the first request builds what later ones reuse
        login_seconds = timed(log_in, logins)
        stored = auth.hash_password(PASSWORD)
        check_seconds = timed(lambda: check_password_hash(stored, PASSWORD), logins)
        default = generate_password_hash(PASSWORD)  # Werkzeug's own default, for comparison
        default_seconds = timed(lambda: check_password_hash(default, PASSWORD), logins)
        Session.remove()
        Session.get_bind().dispose()
    print(f"hashing: {auth.PASSWORD_HASH_METHOD}; Python {platform.python_version()}")
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPU(s) visible, {platform.system()}")
    print(summary(f"login ({logins}x)", login_seconds))
    print(summary(f"scrypt check ({logins}x)", check_seconds))
    print(summary(f"{default.split('$')[0]} check", default_seconds))


if __name__ == "__main__":
    main()
