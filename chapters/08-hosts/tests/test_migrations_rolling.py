"""A rolling deploy: the next release migrates while this one still serves.

This code plays the release still running. The next release's migration adds
a NOT NULL column to ``users``, which this code's inserts do not name. With a
server default the database fills it in; without one, every insert fails.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.exc import IntegrityError

from blog import migrate
from blog.db import Session
from blog.models import User
from conftest import PASSWORD

# A revision these scripts do not know: the one the next release's migration writes.
NEXT_RELEASE = "0f1e2d3c4b5a"
LOWER_USERNAME = "uq_users_username_lower"


def next_release_migrates(engine: sa.Engine, *, server_default: str | None) -> None:
    """The next release's migration: a NOT NULL ``nickname`` column on ``users``."""
    with (
        engine.connect() as connection,
        migrate.foreign_keys_off(connection),
        connection.begin(),
    ):
        op = Operations(MigrationContext.configure(connection))
        if server_default is not None:
            op.add_column(
                "users",
                sa.Column("nickname", sa.String(40), nullable=False, server_default=server_default),
            )
        else:
            # Nullable first, the rows it already has filled in, then NOT NULL:
            # right for the rows, wrong for the release still inserting new ones.
            op.add_column("users", sa.Column("nickname", sa.String(40), nullable=True))
            op.execute("UPDATE users SET nickname = username")
            # SQLite copies the table, and its copy cannot carry an expression index:
            # drop it first, make it again after, as the chapter's own migration does.
            op.drop_index(LOWER_USERNAME, table_name="users")
            with op.batch_alter_table("users") as batch:
                batch.alter_column("nickname", existing_type=sa.String(40), nullable=False)
            op.create_index(LOWER_USERNAME, "users", [sa.text("lower(username)")], unique=True)
        op.execute(sa.text(f"UPDATE alembic_version SET version_num = '{NEXT_RELEASE}'"))


def test_a_new_column_with_a_server_default_keeps_the_running_release_inserting(
    client, register, engine
):
    register("ada")
    next_release_migrates(engine, server_default="reader")

    grace = register("grace")  # this release's insert, which does not name nickname
    with engine.connect() as connection:
        nicknames = dict(connection.execute(sa.text("SELECT username, nickname FROM users")).all())
    assert nicknames == {"ada": "reader", grace.username: "reader"}


def test_a_new_not_null_column_without_one_breaks_every_insert(
    client, register, engine, count_rows
):
    register("ada")
    next_release_migrates(engine, server_default=None)

    before = count_rows()
    # This release can no longer add a user: not through the API,
    response = client.post(
        "/api/users",
        json={"username": "grace", "email": "grace@example.com", "password": PASSWORD},
    )
    assert response.status_code != 201, response.json
    assert count_rows() == before
    # and not with its model, whose INSERT leaves the new column out.
    Session.add(User(username="grace", email="grace@example.com", password_hash="x"))
    with pytest.raises(IntegrityError, match="(?i)nickname"):
        Session.commit()
    Session.rollback()
