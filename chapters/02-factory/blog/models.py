"""The tables, as typed SQLAlchemy 2.0 models."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from blog.db import db

# Ids are 64-bit on every database: BIGINT on PostgreSQL, and on SQLite an
# INTEGER key, which is the 64-bit row id there (a BIGINT key would not number
# new rows by itself).
Id = BigInteger().with_variant(Integer, "sqlite")
# The largest id either database can store: a larger number in a URL cannot be
# a user, and sending it to the database would be an error (a 500), not a 404.
MAX_ID = 2**63 - 1


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    posts: Mapped[list[Post]] = relationship(back_populates="author", order_by="Post.id")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email}


class Post(db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[User] = relationship(back_populates="posts")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "title": self.title,
            "body": self.body,
        }
