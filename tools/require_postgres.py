"""Fail loudly, with a hint, when the PostgreSQL the session needs is not there."""

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

url = sys.argv[1]
try:
    with create_engine(url).connect() as connection:
        version = connection.scalar(text("SHOW server_version"))
except OperationalError as error:
    sys.exit(
        f"PostgreSQL is not reachable at {url}.\n"
        "This session needs a real server: start one (trust auth, database 'test'),\n"
        "or point TEST_DATABASE_URL at yours.\n"
        f"Driver said: {error.orig}"
    )
print(f"PostgreSQL {version} at {url}")
