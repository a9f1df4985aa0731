"""Expired login tokens and reset requests are deleted, on a schedule or by hand."""

from __future__ import annotations

from celery import shared_task
from flask import current_app
from sqlalchemy import delete

from blog.auth import utcnow
from blog.db import Session
from blog.models import PasswordReset, Token


def delete_expired() -> tuple[int, int]:
    """Delete what expired; returns how many tokens and reset requests went."""
    now = utcnow()
    tokens = Session.execute(delete(Token).where(Token.expires_at <= now)).rowcount
    resets = Session.execute(delete(PasswordReset).where(PasswordReset.expires_at <= now)).rowcount
    Session.commit()
    return tokens, resets


@shared_task
def delete_expired_task() -> None:
    """What celery beat runs every CLEANUP_INTERVAL seconds (blog/jobs.py)."""
    tokens, resets = delete_expired()
    current_app.logger.info("Deleted %d expired tokens and %d reset requests", tokens, resets)
