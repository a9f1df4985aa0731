"""Usernames are unique whatever their case: "ada" and "Ada" are one name.

The data may already break the rule, so the upgrade looks first and stops
with the names to resolve before it changes anything.

Revision ID: a7c94be1f356
Revises: 5e8a31c7d402
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "a7c94be1f356"
down_revision: str | Sequence[str] | None = "5e8a31c7d402"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASHES = """
    SELECT username FROM users
    WHERE lower(username) IN (
        SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1
    )
    ORDER BY lower(username), username
"""


def upgrade() -> None:
    # Which of "ada" and "Ada" keeps the name is for people to decide, not for
    # a migration: name them all, and the command that renames one.
    clashes = op.get_bind().execute(sa.text(CLASHES)).scalars().all()
    if clashes:
        raise CommandError(
            f"Usernames that differ only in case: {', '.join(clashes)}. Rename all "
            "but one of each, e.g. `flask rename-user OLD NEW`, then run the upgrade again."
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
