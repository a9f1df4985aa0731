"""Keyset pagination: a page is the next ``limit`` rows after an id, never an offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, request, url_for
from sqlalchemy import ColumnElement, Connection, Row, Select, event, text
from sqlalchemy.orm import Mapper

from blog.db import Session
from blog.models import MAX_ID, Post, User

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def keyset_page(
    query: Select,
    key: ColumnElement[int],
    endpoint: str,
    to_item: Callable[[Row], dict[str, Any]] = Row._asdict,
    **values: Any,
) -> dict:
    """One page of ``query`` in ``key`` order, and the URL of the next page (or None).

    ``?after=<id>`` continues where the last page ended: the rows with a larger
    id, in id order. It skips none: a row the app inserts later gets a larger
    id than every row a page has shown, since inserts into a table take turns
    until they commit (``take_turns_to_insert``). A client that keeps the last
    id it was shown and asks again later gets every row added meanwhile.

    Reading ``limit + 1`` rows tells whether there is a next page without
    counting the rest; the database reads only the page, from an index on
    ``key``, however deep it is.
    """
    limit = query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = query_int("after", 0, 0, MAX_ID)
    rows = Session.execute(query.where(key > after).order_by(key).limit(limit + 1)).all()
    items = [to_item(row) for row in rows[:limit]]
    next_url = None
    if len(rows) > limit:
        next_url = url_for(endpoint, **values, limit=limit, after=items[-1]["id"])
    return {"items": items, "next": next_url}


def query_int(name: str, default: int, low: int, high: int) -> int:
    """A whole number from the query string, written in ASCII digits, or 400."""
    value = request.args.get(name)
    if value is None:
        return default
    # The length check comes first: int() of thousands of digits is slow, then refused.
    if not (len(value) <= 20 and value.isascii() and value.isdigit() and low <= int(value) <= high):
        abort(400, f"'{name}' must be a whole number from {low} to {high}.")
    return int(value)


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
