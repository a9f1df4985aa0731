"""Accounts and tokens: passwords, login tokens, cascades.

Usernames keep chapter 04's case-blind unique index, which makes the plain
unique constraint of chapter 03 redundant: it goes.

Drafted by `alembic revision --autogenerate`, then fixed by hand where it can't
see. Chapter 03's unique constraint on username and its foreign key have no
names in the models: they get the names PostgreSQL gave them, and SQLite's
batch copies name what they reflect the same way, so one drop fits both.

Revision ID: 9c2d7e41a0b3
Revises: a7c94be1f356
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c2d7e41a0b3"
down_revision: str | Sequence[str] | None = "a7c94be1f356"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Ids are 64-bit; SQLite's INTEGER PRIMARY KEY already is, and only INTEGER numbers rows.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# PostgreSQL's own names for unnamed constraints, used for SQLite's copies too.
NAMES = {
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
}
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    # SQLite can't reflect an index on an expression, so a batch copy of `users`
    # would lose this one: it goes first and comes back after the batches.
    op.drop_index("uq_users_username_lower", table_name="users")

    # On SQLite each batch copies the table: the copies never reuse a deleted id
    # (AUTOINCREMENT, as in the models). PostgreSQL ignores the option.
    with op.batch_alter_table(
        "users", naming_convention=NAMES, table_kwargs=AUTOINCREMENT
    ) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.drop_constraint("users_username_key", type_="unique")

    with op.batch_alter_table(
        "posts", naming_convention=NAMES, table_kwargs=AUTOINCREMENT
    ) as batch_op:
        batch_op.drop_index("ix_posts_user_id")
        batch_op.create_index("ix_posts_user_id_id", ["user_id", "id"])
        batch_op.drop_constraint("posts_user_id_fkey", type_="foreignkey")
        batch_op.create_foreign_key(
            "posts_user_id_fkey", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )

    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)

    op.create_table(
        "tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_tokens_user_id", table_name="tokens")
    op.drop_table("tokens")

    # First, for the same reason as in upgrade(): a batch copy can't keep it.
    op.drop_index("uq_users_username_lower", table_name="users")

    with op.batch_alter_table("posts", naming_convention=NAMES) as batch_op:
        batch_op.drop_constraint("posts_user_id_fkey", type_="foreignkey")
        batch_op.create_foreign_key("posts_user_id_fkey", "users", ["user_id"], ["id"])
        batch_op.drop_index("ix_posts_user_id_id")
        batch_op.create_index("ix_posts_user_id", ["user_id"])

    with op.batch_alter_table("users", naming_convention=NAMES) as batch_op:
        batch_op.create_unique_constraint("users_username_key", ["username"])
        batch_op.drop_column("password_hash")

    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
