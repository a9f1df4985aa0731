"""The schema's version, kept by Alembic: where the migrations are, which is newest, upgrade.

The app, its ``flask init-db`` command and the ``alembic`` command all run the
same scripts in ``blog/migrations/``. They live inside the package so that a
regular (non-editable) install still knows the newest revision at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"

# The first revision creates exactly the tables chapter 03's `init-db` made with
# create_all(), before this app had migrations. A database that has those
# tables but no version table is marked as being at this revision, then upgraded.
BASELINE = "4b1f0c6a9d2e"
BASELINE_TABLES = {
    "users": {"id", "username", "email"},
    "posts": {"id", "user_id", "title", "body"},
}


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's settings, built in code: the installed app has no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # env.py runs the migrations on this connection instead of opening its own.
    config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    """The newest revision(s) of the scripts: more than one until branches are merged."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revision(s) the database is at; empty for a database Alembic never touched."""
    return set(MigrationContext.configure(connection).get_current_heads())


def schema_problem(current: set[str], head: set[str]) -> str | None:
    """What keeps this code from serving a schema at ``current``; None if nothing does.

    A revision these scripts do not know was made by a newer release. During a
    rolling deploy that release migrates first while this one still serves, so
    it keeps serving: each migration must leave the previous release working.
    """
    if current == head:
        return None
    scripts = ScriptDirectory.from_config(alembic_config())
    # From this code's head down: a deploy may already have added newer scripts here.
    known = {script.revision for script in scripts.iterate_revisions(tuple(head), "base")}
    if current and not current & known:
        return None
    return (
        f"The schema is at {', '.join(sorted(current)) or 'no revision'}, not at the "
        f"newest revision ({', '.join(sorted(head))}). Run `flask init-db`."
    )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision``, in one transaction; ``flask init-db`` calls this."""
    with engine.connect() as connection, foreign_keys_off(connection), all_or_nothing(connection):
        config = alembic_config(connection)
        if is_unversioned_baseline(connection):
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
        refuse_broken_references(connection, "The migration left rows pointing nowhere")


def downgrade(engine: Engine, revision: str) -> None:
    with engine.connect() as connection, foreign_keys_off(connection), all_or_nothing(connection):
        config = alembic_config(connection)
        if is_unversioned_baseline(connection):
            command.stamp(config, BASELINE)
        command.downgrade(config, revision)
        refuse_broken_references(connection, "The migration left rows pointing nowhere")


@contextmanager
def all_or_nothing(connection: Connection) -> Iterator[None]:
    """One transaction on ``connection`` whose DDL and rows commit together or not at all.

    PostgreSQL runs DDL in transactions as it is. Python's sqlite3 driver opens
    a transaction only before INSERT, UPDATE or DELETE, so a CREATE TABLE before
    them commits at once, and a migration that fails later leaves that table
    behind. Here the driver is told to keep out and the transaction starts with
    an explicit BEGIN; on this connection only, since the app's own need no change.
    """
    if connection.dialect.name != "sqlite":
        with connection.begin():
            yield
        return
    driver = connection.connection.driver_connection
    default = driver.isolation_level
    driver.isolation_level = None  # the driver sends no BEGIN or COMMIT of its own
    try:
        with connection.begin():
            connection.exec_driver_sql("BEGIN")
            yield
    finally:
        driver.isolation_level = default


@contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, migrate with foreign keys off, after checking every reference.

    Batch mode drops a table and renames a copy into its place. With foreign
    keys on, dropping ``users`` first deletes its rows: that fails while posts
    point at them, or with ON DELETE CASCADE takes every post along. SQLite
    ignores this switch inside a transaction, so it is flipped before one starts.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    # Rows that already point nowhere would be blamed on the migration, after
    # it ran: refuse them first, while the database is unchanged.
    refuse_broken_references(connection, "Rows point nowhere; fix them, then migrate")
    connection.rollback()
    was_on = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if was_on else 'OFF'}")
        connection.commit()


def refuse_broken_references(connection: Connection, problem: str) -> None:
    """On SQLite, stop when a row points at a row that does not exist.

    Called inside the migration's transaction too, so a migration that broke a
    reference is rolled back whole. PostgreSQL checks every reference itself.
    """
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise CommandError(f"{problem}: {broken[:5]}")


def is_unversioned_baseline(connection: Connection) -> bool:
    """True for a database made by create_all() before migrations: adopt it, don't recreate it."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "alembic_version" in tables or not tables:
        return False
    found = {table: {c["name"] for c in inspector.get_columns(table)} for table in tables}
    if found != BASELINE_TABLES:
        raise CommandError(
            f"The database has tables ({', '.join(sorted(tables))}) but no migration "
            "history, and they are not the ones the first revision creates. Compare "
            "them with blog/migrations/versions/, then mark the matching revision "
            "with `alembic stamp <revision>`."
        )
    return True
