"""Posts record when they were written.

Expand only: the new column has a default that the database fills in, so the
release still running, whose INSERTs don't name the column, keeps working
while this one rolls out. Posts that exist get the time of the migration.

Revision ID: 5e8a31c7d402
Revises: 4b1f0c6a9d2e
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e8a31c7d402"
down_revision: str | Sequence[str] | None = "4b1f0c6a9d2e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite can't ADD COLUMN with a default such as CURRENT_TIMESTAMP, so there
    # the table is copied with the new column; PostgreSQL alters it in place.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("posts", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.func.now(),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("created_at")
