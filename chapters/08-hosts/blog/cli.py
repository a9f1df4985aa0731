"""Database chores as ``flask`` commands: run once, on purpose, never at start-up."""

from __future__ import annotations

from pathlib import Path

import click
from alembic.util import CommandError
from flask import Flask
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select, text, update

from blog import cleanup, migrate
from blog.auth import hash_password
from blog.db import Session
from blog.models import Post, Token, User
from blog.schemas import NewPassword, describe

SEED_USERS = {
    "ada": ("ada@example.com", "Notes on the analytical engine"),
    "grace": ("grace@example.com", "Finding the first bug"),
    "linus": ("linus@example.com", "Just a hobby project"),
}


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Delete every table first (asks to confirm).")
def init_db_command(drop: bool) -> None:
    """Upgrade the database to the newest schema (alembic upgrade head). Rows are kept."""
    engine = Session.get_bind()
    sqlite = engine.dialect.name == "sqlite"
    try:
        if drop:
            click.confirm("This deletes every row in the database. Continue?", abort=True)
            migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
    except CommandError as error:  # data or history the migrations can't take: say what
        raise click.ClickException(str(error)) from None
    if sqlite:
        # WAL lets readers work while one writer writes. It is stored in the
        # database file, so it is set once here, not on every connection.
        with engine.connect() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
    with engine.connect() as connection:
        revision = ", ".join(sorted(migrate.current_revisions(connection)))
    click.echo(f"Initialized the database at {engine.url!r}: schema at revision {revision}.")


@click.command("seed")
def seed_command() -> None:
    """Add the demo users and posts. Safe to run twice: existing users are skipped.

    Demo users have no password: `flask set-password ada` gives one.
    """
    added = 0
    for username, (email, title) in SEED_USERS.items():
        # Case-blind, like the unique index: a registered "Ada" is the demo "ada".
        if Session.scalar(select(User).where(func.lower(User.username) == username)) is None:
            user = User(username=username, email=email)
            user.posts.add(Post(title=title, body=f"A first post by {username}."))
            Session.add(user)
            added += 1
    Session.commit()
    click.echo(f"Seeded {added} new user(s); {len(SEED_USERS) - added} already there.")


@click.command("rename-user")
@click.argument("old")
@click.argument("new")
def rename_user_command(old: str, new: str) -> None:
    """Rename the user OLD (exact case) to NEW, e.g. to resolve "ada" and "Ada".

    It reads and writes the username column only, so it works on a database
    whose upgrade stopped on such names: that is when it is needed.
    """
    user_id = Session.scalar(select(User.id).filter_by(username=old))
    if user_id is None:
        raise click.ClickException(f"There is no user {old!r}.")
    taken = select(User.id).where(func.lower(User.username) == new.lower(), User.id != user_id)
    if Session.scalar(taken) is not None:
        raise click.ClickException(f"The username {new!r} is taken.")
    Session.execute(update(User).where(User.id == user_id).values(username=new))
    Session.commit()
    click.echo(f"Renamed {old!r} to {new!r}.")


@click.command("set-password")
@click.argument("username")
def set_password_command(username: str) -> None:
    """Set the password of USERNAME, asked twice, e.g. for a demo user or one from chapter 04.

    Every token of the account ends: whoever the password was for logs in again.
    """
    user = Session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise click.ClickException(f"There is no user {username!r}.")
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        # The rules of registering, with their messages.
        password = TypeAdapter(NewPassword).validate_python(password)
    except ValidationError as error:
        raise click.ClickException(describe(error, "password")) from None
    user.password_hash = hash_password(password)
    Session.execute(delete(Token).where(Token.user_id == user.id))
    Session.commit()
    click.echo(f"Set the password of {user.username!r}. It can log in now.")


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Copy the live SQLite database to TARGET, consistent even while it serves."""
    engine = Session.get_bind()
    if engine.dialect.name != "sqlite":
        raise click.ClickException(f"{engine.dialect.name}: use the server's own tool (pg_dump).")
    try:
        # An empty file for your user only: the copy holds the same private rows.
        target.touch(mode=0o600, exist_ok=False)
    except FileExistsError:
        raise click.ClickException(f"{target} exists; a backup goes to a new file.") from None
    # Copying the file with cp misses what is still in the -wal file and can catch
    # a page mid-write. VACUUM INTO reads one snapshot, in a transaction.
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM INTO ?", (str(target),))
    click.echo(f"Backed up {engine.url.database} to {target}.")


@click.command("delete-expired-tokens")
def delete_expired_tokens_command() -> None:
    """Delete the tokens and reset requests that have expired, now.

    Logging out deletes a token, but an expired one stays until this runs: a
    client that logs in for every job would otherwise grow the table forever.
    celery beat runs the same every CLEANUP_INTERVAL seconds (blog/cleanup.py).
    """
    tokens, resets = cleanup.delete_expired()
    click.echo(f"Deleted {tokens} expired token(s) and {resets} reset request(s).")


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(rename_user_command)
    app.cli.add_command(set_password_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(delete_expired_tokens_command)
