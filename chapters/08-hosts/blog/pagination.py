"""Keyset pagination: a page is the next ``limit`` rows after an id, never an offset."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import ColumnElement, Connection, Select, event, text
from sqlalchemy.orm import Mapper

from blog.db import Session
from blog.models import Post, User
from blog.schemas import Page


def keyset_page(
    query: Select, key: ColumnElement[int], page: Page, endpoint: str, **values: Any
) -> dict[str, Any]:
    """One page of ``query``, newest first, and the URL of the next page (or None).

    ``?after=<id>`` continues where the last page ended: the rows with a
    smaller id, newest first. It skips none, and shows none twice: a row added
    meanwhile has a larger id than every row shown, and comes on the first page.
    Inserts into a table take turns until they commit (``take_turns_to_insert``),
    so ids come in commit order: a client that keeps the newest id it was shown
    reads the first pages again later, up to that id, and misses nothing new.

    Reading ``limit + 1`` rows tells whether there is a next page without
    counting the rest; the database reads only the page, from an index on
    ``key``, however deep it is.
    """
    if page.after is not None:
        query = query.where(key < page.after)
    rows = Session.scalars(query.order_by(key.desc()).limit(page.limit + 1)).all()
    items = rows[: page.limit]
    next_url = None
    if len(rows) > page.limit:
        next_url = url_for(endpoint, **values, limit=page.limit, after=items[-1].id)
    return {"items": items, "next": next_url}


def take_turns_to_insert(mapper: Mapper, connection: Connection, target: Any) -> None:
    """Before the app inserts a user or a post, wait for the previous one to commit.

    PostgreSQL gives an id at INSERT but shows the row at COMMIT. Two writers
    at once could commit in the other order, and a client already past the
    larger id would never see the smaller one. Taking turns until COMMIT gives
    ids in commit order, as SQLite (one writer at a time) always does.
    """
    if connection.dialect.name == "postgresql":
        # A lock named by the table's oid, held until this transaction ends.
        # Only inserts of the same table wait for it; reads never do.
        connection.execute(
            text(
                "SELECT pg_advisory_xact_lock("
                "CAST(CAST(CAST(:table AS regclass) AS oid) AS bigint))"
            ),
            {"table": mapper.local_table.name},
        )


for model in (User, Post):
    event.listen(model, "before_insert", take_turns_to_insert)
