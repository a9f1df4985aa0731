"""The migrations build the models' schema, go down and up again, and keep rows."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, String, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from blog import migrate
from blog.db import Base, Session
from conftest import POSTGRES_URL

CHAPTER = Path(__file__).resolve().parent.parent

# SQLite can't reflect an index on an expression, such as lower(username):
# SQLAlchemy and Alembic skip it there, with a warning. PostgreSQL compares it.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
]


def differences(engine):
    """What autogenerate would put in a new revision: nothing, when models and migrations agree."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def dump(engine, tables):
    """Every row of ``tables``, in a stable order, to compare before and after."""
    with engine.connect() as connection:
        return {
            table: connection.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            for table in tables
        }


# Rows in the first revision's columns, which every later revision keeps.
INSERT_USER = "INSERT INTO users (id, username, email) VALUES (7, 'ada', 'ada@example.com')"
INSERT_POST = "INSERT INTO posts (id, user_id, title, body) VALUES (9, 7, 'Hello', 'First post.')"


def project(rows, like):
    """``rows`` with only the columns that the rows in ``like`` have."""
    columns = list(like[0]._fields) if like else []
    return [tuple(getattr(row, column) for column in columns) for row in rows]


def model_tables(engine):
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def index_definitions(engine):
    """Each index as the database stores it: on an expression too, which reflection skips."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # The indexes of UNIQUE and PRIMARY KEY constraints have no SQL of their own.
            query = (
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND sql IS NOT NULL AND tbl_name != 'alembic_version'"
            )
        else:
            query = (
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename != 'alembic_version'"
            )
        rows = connection.execute(text(query)).all()
    # PostgreSQL writes the schema before the table name: "ON test_1a2b.users".
    return {name: re.sub(r" ON \S+\.", " ON ", sql) for name, sql in rows}


def schema(engine):
    """Tables, columns, keys and indexes, as the database reports them.

    Constraint names are left out: SQLite's batch copies name constraints that
    the first tables left unnamed, and nothing depends on those names there.
    """
    inspector = inspect(engine)
    return {
        "indexes": index_definitions(engine),
        **{
            table: {
                "columns": sorted(
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
                ),
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign keys": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                        fk["options"].get("ondelete"),
                    )
                    for fk in inspector.get_foreign_keys(table)
                ),
                "unique": sorted(
                    tuple(uc["column_names"]) for uc in inspector.get_unique_constraints(table)
                ),
            }
            for table in sorted(model_tables(engine))
        },
    }


@pytest.fixture
def second_engine(database_url, tmp_path):
    """A second empty database of the same kind, to build a schema to compare with."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url.set(database=str(tmp_path / "second.sqlite")))
        yield engine
        engine.dispose()
        return
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    engine = create_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{name}")
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


def test_the_migrations_build_the_models_schema(app, engine, second_engine):
    assert model_tables(engine) == set(Base.metadata.tables)
    assert differences(engine) == []
    # Autogenerate skips indexes on expressions on SQLite, lower(username) among
    # them: compare with what create_all() makes from the models, index by index.
    Base.metadata.create_all(second_engine)
    assert schema(engine) == schema(second_engine)
    assert "lower(" in schema(engine)["indexes"]["uq_users_username_lower"]


def autoincrement_tables(path: Path, build) -> set[str]:
    """The tables that ``build`` makes AUTOINCREMENT in a new SQLite file."""
    engine = create_engine(f"sqlite:///{path}")
    build(engine)
    with engine.connect() as connection:
        tables = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master").all()
    engine.dispose()
    return {name for name, sql in tables if "AUTOINCREMENT" in (sql or "")}


def test_the_models_never_reuse_ids_either(tmp_path):
    # Autogenerate can't see AUTOINCREMENT: this keeps create_all() (a script, a
    # test) building the same kind of SQLite table as the migrations.
    migrated = autoincrement_tables(tmp_path / "migrated.sqlite", migrate.upgrade)
    assert {"users", "posts"} <= migrated
    assert autoincrement_tables(tmp_path / "models.sqlite", Base.metadata.create_all) == migrated


def test_there_is_one_newest_revision():
    # Two branches that each added a revision leave two heads: `alembic merge heads`.
    assert len(migrate.head_revisions()) == 1


@pytest.mark.smoke
def test_init_db_upgrades_an_empty_database(empty_app):
    engine = Session.get_bind()
    with empty_app.app_context():
        result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    (head,) = migrate.head_revisions()
    assert f"schema at revision {head}" in result.output
    assert differences(engine) == []


def test_init_db_twice_changes_nothing(flask_command, count_rows):
    flask_command("seed")
    before = count_rows()
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert count_rows() == before


def test_down_one_revision_and_up_again(app, engine, flask_command, second_engine):
    flask_command("seed")
    head = schema(engine)
    before = dump(engine, model_tables(engine))
    migrate.downgrade(engine, "-1")
    # The schema is the previous revision's, foreign keys included: the same
    # as a new database upgraded only that far.
    with engine.connect() as connection:
        (previous,) = migrate.current_revisions(connection)
    migrate.upgrade(second_engine, previous)
    assert schema(engine) == schema(second_engine)
    # The tables and columns the previous revision has keep their rows.
    older = dump(engine, model_tables(engine))
    assert older == {table: project(before[table], older[table]) for table in older}
    migrate.upgrade(engine)
    assert differences(engine) == []
    assert schema(engine) == head
    after = dump(engine, older)
    assert {table: project(after[table], older[table]) for table in older} == older


def test_down_to_nothing_and_up_again(app, engine):
    migrate.downgrade(engine, "base")
    assert model_tables(engine) == set()
    migrate.upgrade(engine)
    assert differences(engine) == []


def test_a_database_made_before_migrations_is_adopted(empty_app):
    # What create_all() made before this app had migrations: the first
    # revision's tables, rows in them, and no version table.
    engine = Session.get_bind()
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text(INSERT_USER))
        connection.execute(text(INSERT_POST))
    before = dump(engine, ["users", "posts"])

    with empty_app.app_context():
        result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert differences(engine) == []
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions()
    after = dump(engine, ["users", "posts"])
    assert {table: project(after[table], before[table]) for table in before} == before


def test_usernames_that_differ_only_in_case_stop_the_upgrade_with_a_message(empty_app):
    def flask_command(*args):
        with empty_app.app_context():
            return empty_app.test_cli_runner().invoke(args=list(args))

    engine = Session.get_bind()
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as connection:
        for name in ("ada", "Ada", "bob", "ADA"):
            connection.execute(
                text("INSERT INTO users (username, email) VALUES (:name, 'x@example.com')"),
                {"name": name},
            )
    before = schema(engine)

    result = flask_command("init-db")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: Usernames that differ only in case: ADA, Ada, ada. Rename all but one "
        "of each, e.g. `flask rename-user OLD NEW`, then run the upgrade again."
    ]
    # Nothing changed: no half-made tables, still at the first revision.
    assert schema(engine) == before
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == {migrate.BASELINE}

    assert flask_command("rename-user", "Ada", "ada2").exit_code == 0
    assert flask_command("rename-user", "ADA", "ada3").exit_code == 0
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert differences(engine) == []


def test_unknown_tables_without_history_are_refused(empty_app):
    engine = Session.get_bind()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"))
    with pytest.raises(CommandError, match="no migration history"):
        migrate.upgrade(engine)
    assert model_tables(engine) == {"users"}


def test_the_alembic_command_uses_the_apps_settings(database_url):
    # Run in this folder, as a team would: alembic.ini, then env.py builds the app,
    # which reads FLASK_DATABASE_URL. No URL is written in alembic.ini.
    env = {**os.environ, "FLASK_DATABASE_URL": database_url}
    alembic = [sys.executable, "-m", "alembic"]
    upgrade = subprocess.run(
        [*alembic, "upgrade", "head"], cwd=CHAPTER, env=env, capture_output=True, text=True
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Running upgrade  -> " + migrate.BASELINE in upgrade.stderr
    check = subprocess.run(
        [*alembic, "check"], cwd=CHAPTER, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


# `alembic <args>` in a child process with its own instance folder, as every
# test here has (conftest's `isolated`): `python -c ALEMBIC <instance> <args>`.
ALEMBIC = (
    "import sys, flask, alembic.config\n"
    "instance = sys.argv.pop(1)\n"
    "flask.Flask.auto_find_instance_path = lambda app: instance\n"
    "alembic.config.main(prog='alembic')\n"
)


def test_the_alembic_command_reads_dotenv_as_flask_does(database_url, tmp_path):
    # The database URL is in .env, where `flask init-db` finds it: `alembic`
    # must upgrade that database too, not the instance folder's SQLite file.
    (tmp_path / ".env").write_text(f"FLASK_DATABASE_URL={database_url}\n")
    instance = tmp_path / "instance"
    ini = str(CHAPTER / "alembic.ini")
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLASK_")}
    upgrade = subprocess.run(
        [sys.executable, "-c", ALEMBIC, str(instance), "-c", ini, "upgrade", "head"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions()
    engine.dispose()
    assert not (instance / "blog.sqlite").exists()


def test_only_init_db_adopts_a_database_made_before_migrations(empty_app, database_url):
    # Only `flask init-db` adopts one. The `alembic` command runs the first
    # revision on it, which finds its tables already there.
    engine = Session.get_bind()
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    env = {**os.environ, "FLASK_DATABASE_URL": database_url}
    upgrade = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=CHAPTER,
        env=env,
        capture_output=True,
        text=True,
    )
    assert upgrade.returncode != 0
    assert "users" in upgrade.stderr and "already exists" in upgrade.stderr
    # The failed run took back everything it did, its version table too (on
    # SQLite as well: env.py migrates all or nothing), so init-db adopts it.
    assert "alembic_version" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions()


def test_autogenerate_sees_a_renamed_column_as_drop_and_add(app, engine):
    # Its best-known limit: a rename written by autogenerate would lose the column's data.
    renamed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(renamed)
    renamed.tables["users"].c.email.name = "mail"
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), renamed)
    assert [(change[0], change[3].name) for change in found] == [
        ("add_column", "mail"),
        ("remove_column", "email"),
    ]


def test_sqlite_needs_batch_mode_to_alter_a_column(tmp_path):
    # About SQLite whatever TEST_DATABASE_URL says: PostgreSQL alters columns in place.
    engine = create_engine(f"sqlite:///{tmp_path / 'batch.sqlite'}")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection))
        with pytest.raises(OperationalError, match="syntax error"):
            operations.alter_column("users", "email", existing_type=String(254), nullable=True)
    with engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection))
        # Batch mode: a new table with the change, the rows copied over, the old one dropped.
        with operations.batch_alter_table("users") as batch:
            batch.alter_column("email", existing_type=String(254), nullable=True)
    assert {c["name"]: c["nullable"] for c in inspect(engine).get_columns("users")}["email"]
    engine.dispose()


@pytest.mark.smoke
def test_two_branches_that_each_add_a_revision_need_a_merge(empty_app, tmp_path):
    # A copy of the scripts, so the test can add revisions without touching the real ones.
    shutil.copytree(migrate.MIGRATIONS, tmp_path / "migrations")
    config = migrate.alembic_config()
    config.set_main_option("script_location", str(tmp_path / "migrations"))
    (head,) = ScriptDirectory.from_config(config).get_heads()
    # Each branch made its revision on top of the same head, unaware of the other
    # (in one folder, splice=True is how to say so).
    command.revision(config, "add tags", head=head, rev_id="branch_a")
    command.revision(config, "add likes", head=head, rev_id="branch_b", splice=True)
    assert set(ScriptDirectory.from_config(config).get_heads()) == {"branch_a", "branch_b"}

    engine = Session.get_bind()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        with pytest.raises(CommandError, match="Multiple head revisions"):
            command.upgrade(config, "head")

    command.merge(config, "heads", message="merge tags and likes", rev_id="merged")
    assert ScriptDirectory.from_config(config).get_heads() == ["merged"]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        assert migrate.current_revisions(connection) == {"merged"}


def test_autogenerate_writes_batch_blocks_for_sqlite(tmp_path):
    # env.py's render_as_batch: on SQLite, drafts alter tables through batch mode.
    shutil.copytree(migrate.MIGRATIONS, tmp_path / "migrations")
    engine = create_engine(f"sqlite:///{tmp_path / 'draft.sqlite'}")
    migrate.upgrade(engine)
    # Take an index away, so the draft has something to add back.
    table, index = next(
        (table, index["name"])
        for table in sorted(Base.metadata.tables)
        for index in inspect(engine).get_indexes(table)
    )
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {index}"))
        config = migrate.alembic_config(connection)
        config.set_main_option("script_location", str(tmp_path / "migrations"))
        script = command.revision(config, "add the index", autogenerate=True, rev_id="draft")
    engine.dispose()
    draft = Path(script.path).read_text().replace("'", '"')
    assert f'with op.batch_alter_table("{table}"' in draft
    assert index in draft


def test_batch_mode_keeps_rows_that_point_at_the_table(tmp_path):
    # With foreign keys on (as an app that wants ON DELETE on SQLite has them),
    # recreating `users` in batch mode drops the old table: its rows go first,
    # and the posts that point at them with it, or the drop fails.
    engine = create_engine(f"sqlite:///{tmp_path / 'fk.sqlite'}")
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys = ON"))
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(INSERT_USER))
        connection.execute(text(INSERT_POST))
    before = dump(engine, ["users", "posts"])

    with engine.connect() as connection, migrate.foreign_keys_off(connection):
        with connection.begin():
            operations = Operations(MigrationContext.configure(connection))
            with operations.batch_alter_table("users", recreate="always") as batch:
                batch.alter_column("email", existing_type=String(254), nullable=True)

    assert dump(engine, ["users", "posts"]) == before
    with engine.connect() as connection:  # and the connection has its foreign keys back
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_rows_pointing_nowhere_stop_the_upgrade_before_it_changes_anything(tmp_path):
    # An old SQLite file made with foreign keys off can hold a post whose user is gone.
    engine = create_engine(f"sqlite:///{tmp_path / 'orphans.sqlite'}")
    migrate.upgrade(engine, migrate.BASELINE)
    with engine.begin() as connection:
        connection.execute(text(INSERT_POST))  # user 7 does not exist
    with pytest.raises(CommandError, match="Rows point nowhere"):
        migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == {migrate.BASELINE}
    engine.dispose()


def test_a_migration_that_leaves_rows_pointing_nowhere_is_rolled_back(tmp_path, monkeypatch):
    # About SQLite whatever TEST_DATABASE_URL says: it migrates with foreign keys
    # off, so a revision can delete users behind their posts' backs there.
    engine = create_engine(f"sqlite:///{tmp_path / 'forget.sqlite'}")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(INSERT_USER))
        connection.execute(text(INSERT_POST))
    shutil.copytree(migrate.MIGRATIONS, tmp_path / "migrations")
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path / "migrations")
    config = migrate.alembic_config()
    (head,) = migrate.head_revisions()
    script = command.revision(config, "forget users", head=head, rev_id="forget_users")
    source = Path(script.path).read_text()
    Path(script.path).write_text(
        source.replace("    pass\n", '    op.execute("DELETE FROM users")\n', 1)
    )
    before = dump(engine, ["users", "posts"])

    with pytest.raises(CommandError, match="The migration left rows pointing nowhere"):
        migrate.upgrade(engine)
    assert dump(engine, ["users", "posts"]) == before
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == {head}
    engine.dispose()
