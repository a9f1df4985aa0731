"""The same API in FastAPI with SQLAlchemy, served by uvicorn: what many would pick instead.

Written the way FastAPI's documentation shows it: plain ``def`` path functions
(FastAPI runs them in a thread pool) and a session per request from a dependency.
It uses the tables chapter 03's ``init-db`` creates, answers GET /users with the
same JSON as the chapters, and POST /users/{id}/posts like chapter 03 does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, String, Text, create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
# The same 5 s wait for SQLite's write lock as the chapters.
CONNECT_ARGS = {"timeout": 5.0} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=CONNECT_ARGS)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(254))


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserOut(BaseModel):
    id: int
    username: str
    email: str


class PostIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)


class PostOut(BaseModel):
    id: int
    user_id: int
    title: str
    body: str


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
def index() -> str:
    return "Hello, World!"


@app.get("/users")
def list_users(session: SessionDep) -> list[UserOut]:
    rows = session.execute(select(User.id, User.username, User.email).order_by(User.id))
    return [UserOut(id=id_, username=name, email=email) for id_, name, email in rows]


@app.post("/users", status_code=201)
def create_user(user_in: UserIn, session: SessionDep) -> UserOut:
    user = User(username=user_in.username, email=user_in.email)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        raise HTTPException(409, f"The username {user_in.username!r} is taken.") from None
    return UserOut(id=user.id, username=user.username, email=user.email)


@app.post("/users/{user_id}/posts", status_code=201)
def create_post(user_id: int, post_in: PostIn, session: SessionDep) -> PostOut:
    if session.get(User, user_id) is None:
        raise HTTPException(404, f"There is no user with id {user_id}.")
    post = Post(user_id=user_id, title=post_in.title, body=post_in.body)
    session.add(post)
    session.commit()
    return PostOut(id=post.id, user_id=post.user_id, title=post.title, body=post.body)
