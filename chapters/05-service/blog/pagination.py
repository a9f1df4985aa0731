"""Keyset pagination: a page is the next ``limit`` rows after an id, never an offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, request, url_for
from sqlalchemy import ColumnElement, Row, Select

from blog.db import Session
from blog.models import MAX_ID

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

    ``?after=<id>`` continues where the last page ended. Reading ``limit + 1``
    rows tells whether there is a next page without counting the rest; the
    database reads only the page, from an index on ``key``, however deep it is.
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
