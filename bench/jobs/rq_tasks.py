"""RQ: plain functions; the caller enqueues them by name on a queue of its own."""

from __future__ import annotations

from bench.jobs.work import count, slow, touch

__all__ = ["count", "slow", "touch"]
