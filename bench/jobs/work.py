"""The work every library runs, so that only the queue differs.

A worker learns where to write from its environment: ``JOBS_REDIS_URL`` and
``JOBS_PREFIX``, a prefix of its own for every key, since other runs share Redis.
"""

from __future__ import annotations

import os
import time

import redis

REDIS_URL = os.environ.get("JOBS_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("JOBS_PREFIX", "jobsbench")
# How long the first run of `slow` lasts: longer than any re-delivery measured.
SLOW_SECONDS = 300

client = redis.Redis.from_url(REDIS_URL)


def key(name: str) -> str:
    return f"{PREFIX}:{name}"


def touch(token: str) -> None:
    """Say "done": the waiting client pops the token from a list, without polling."""
    client.rpush(key("done"), token)


def count() -> None:
    """The throughput job: one counter increment, close to a no-op."""
    client.incr(key("count"))


def slow(token: str) -> None:
    """A job long enough to be killed: its first run never ends by itself, a re-run does."""
    runs = client.incr(key(f"runs:{token}"))
    client.rpush(key("started"), token)
    if runs == 1:
        time.sleep(SLOW_SECONDS)
    client.rpush(key("done"), token)
