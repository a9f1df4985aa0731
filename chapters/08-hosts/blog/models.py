"""The tables, as typed SQLAlchemy 2.0 models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from blog.db import Base

# Ids are 64-bit on every database: BIGINT on PostgreSQL, and on SQLite an
# INTEGER key, which is the 64-bit row id there (a BIGINT key would not number
# new rows by itself).
Id = BigInteger().with_variant(Integer, "sqlite")
# The largest id either database can store: a larger number in a URL cannot be
# a user, and sending it to the database would be an error (a 500), not a 404.
MAX_ID = 2**63 - 1
# Ids are URLs, so an id is never given twice. PostgreSQL's sequences never go
# back; SQLite numbers a new row after the largest id left, which reuses a
# deleted newest row's id unless the table is AUTOINCREMENT.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class User(Base):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    # None: the account cannot log in (users made before passwords, demo rows).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Write-only: a user's posts are read with a query, never loaded onto the user.
    # Deleting a user deletes their posts and tokens: the database does it
    # (ON DELETE CASCADE). passive_deletes leaves it to the database; without it,
    # Session.delete(user) fails, since a write-only collection is never loaded.
    posts: WriteOnlyMapped[Post] = relationship(
        back_populates="author", cascade="all, delete-orphan", passive_deletes=True
    )
    tokens: WriteOnlyMapped[Token] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


# "ada", "Ada" and "ADA" are one name to people, so the database refuses the
# second of them: a unique index on lower(username), on SQLite and PostgreSQL.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class Post(Base):
    __tablename__ = "posts"
    # One user's posts in id order, straight from the index: a range scan on
    # (user_id, id), with no sort.
    __table_args__ = (Index("ix_posts_user_id_id", "user_id", "id"), NEVER_REUSE_IDS)
    # Read the database's defaults back in the INSERT itself (RETURNING), so
    # created_at is known after a commit without another SELECT.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Filled by the database, so every writer agrees on the clock, including
    # the previous release during a deploy (its INSERTs don't name the column).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    author: Mapped[User] = relationship(back_populates="posts")


class Token(Base):
    """A login. The token itself is never stored: only its SHA-256 digest."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Naive datetimes in UTC: both databases store and compare them the same way.
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship(back_populates="tokens")


class PasswordReset(Base):
    """A request to reset a password, mailed by a job (blog/reset.py).

    The row is made by the web request; the job that sends the mail fills in
    ``digest`` and ``sent_at``. A row already sent is never sent again.
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second, the same from both databases.

    PostgreSQL returns an aware datetime in the session's time zone; SQLite
    stores CURRENT_TIMESTAMP as UTC text without a zone, read back as naive.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
