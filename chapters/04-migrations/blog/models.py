"""The tables, as typed SQLAlchemy 2.0 models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.db import Base

# Ids are 64-bit on every database: BIGINT on PostgreSQL, and on SQLite an
# INTEGER key, which is the 64-bit row id there (a BIGINT key would not number
# new rows by itself).
Id = BigInteger().with_variant(Integer, "sqlite")
# The largest id either database can store: a larger number in a URL cannot be
# a user, and sending it to the database would be an error (a 500), not a 404.
MAX_ID = 2**63 - 1


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email}


# "ada", "Ada" and "ADA" are one name to people, so the database refuses the
# second of them: a unique index on lower(username), on SQLite and PostgreSQL.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class Post(Base):
    __tablename__ = "posts"
    # Read the database's defaults back in the INSERT itself (RETURNING), so
    # created_at is known after a commit without another SELECT.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Filled by the database, so every writer agrees on the clock, including
    # the previous release during a deploy (its INSERTs don't name the column).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    author: Mapped[User] = relationship(back_populates="posts")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "title": self.title,
            "body": self.body,
            "created_at": utc_timestamp(self.created_at),
        }


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second, the same from both databases.

    PostgreSQL returns an aware datetime in the session's time zone; SQLite
    stores CURRENT_TIMESTAMP as UTC text without a zone, read back as naive.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
