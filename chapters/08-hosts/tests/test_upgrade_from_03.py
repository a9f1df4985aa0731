"""A database made and filled by chapter 03's own commands upgrades with every row kept."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from blog import migrate
from blog.db import Base, Session

# Next to this chapter in the repository (conftest.py skips collecting this file elsewhere).
CHAPTER_03 = Path(__file__).resolve().parents[2] / "03-plain-sqlalchemy"


# As in test_migrations.py: SQLite can't reflect or compare indexes on expressions.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
]


def chapter_03(*args, database_url, cwd):
    """``flask <args>`` with chapter 03's package, not this one (both are called blog)."""
    env = {**os.environ, "PYTHONPATH": str(CHAPTER_03), "FLASK_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blog", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows(engine):
    """Chapter 03's columns of every row: what the upgrade must keep."""
    with engine.connect() as connection:
        return {
            "users": connection.execute(
                text("SELECT id, username, email FROM users ORDER BY id")
            ).all(),
            "posts": connection.execute(
                text("SELECT id, user_id, title, body FROM posts ORDER BY id")
            ).all(),
        }


def test_a_chapter_03_database_upgrades_to_head(empty_app, database_url, tmp_path):
    assert "Initialized the database" in chapter_03(
        "init-db", database_url=database_url, cwd=tmp_path
    )
    assert "Seeded 3 new user(s)" in chapter_03("seed", database_url=database_url, cwd=tmp_path)
    engine = Session.get_bind()
    assert "alembic_version" not in inspect(engine).get_table_names()  # 03 made it, not us
    before = rows(engine)
    assert len(before["users"]) == len(before["posts"]) == 3

    with empty_app.app_context():
        result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output

    assert rows(engine) == before
    with engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
