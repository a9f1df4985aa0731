"""A forgotten password: a reset token sent by e-mail from a job, good once.

The web request only records the request and queues a job; the job makes
the token and mails it, so the token never passes through the queue.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from apiflask import APIBlueprint
from celery import shared_task
from flask import abort, current_app
from kombu.exceptions import OperationalError as QueueUnavailable
from sqlalchemy import delete, select, update

from blog import mail, ratelimit, schemas
from blog.auth import TOKEN_BYTES, hash_password, token_digest, utcnow
from blog.db import Session
from blog.models import PasswordReset, Token, User

bp = APIBlueprint("reset", __name__)

ON_ITS_WAY = "If an account has this address, a mail with a reset token is on its way."


@bp.post("/auth/forgot")
@ratelimit.attempts
@bp.input(schemas.ForgotPassword, arg_name="data")
@bp.output(schemas.Message, status_code=202)
def forgot(data: schemas.ForgotPassword) -> tuple[dict[str, str], int]:
    # The same answer for every address: the API never tells whether an
    # address has an account. Each account with it gets its own mail.
    users = Session.scalars(select(User.id).where(User.email == data.email)).all()
    now = utcnow()
    expires_at = now + timedelta(seconds=current_app.config["RESET_TOKEN_LIFETIME"])
    resets = [PasswordReset(user_id=user, created_at=now, expires_at=expires_at) for user in users]
    Session.add_all(resets)
    Session.commit()  # before the job is queued: a worker must find the row
    for reset in resets:
        try:
            send_reset.delay(reset.id)
        except QueueUnavailable:
            # Still 202, or the answer would tell which addresses have an
            # account. The row stays unsent: resend_unsent() queues it again.
            current_app.logger.exception("Could not queue password reset %d", reset.id)
    return {"message": ON_ITS_WAY}, 202


@shared_task
def send_reset(reset_id: int) -> None:
    """Mail a reset token for the request ``reset_id``, unless it was mailed already.

    Safe to run twice: the UPDATE claims the row only while it is unsent, and
    holds its lock until the commit, after the mail left. A later run finds the
    row sent and does nothing; one at the same time waits for the lock. A run
    that dies before its commit leaves the row unsent: the next mails a new token.
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    claimed = Session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset_id,
            PasswordReset.sent_at.is_(None),
            PasswordReset.expires_at > utcnow(),
        )
        .values(digest=token_digest(token), sent_at=utcnow())
    ).rowcount
    if not claimed:
        return  # mailed already, expired, or the account was deleted
    email, username = Session.execute(
        select(User.email, User.username).join(PasswordReset).where(PasswordReset.id == reset_id)
    ).one()
    minutes = current_app.config["RESET_TOKEN_LIFETIME"] // 60
    mail.send(
        email,
        "Reset your password",
        f"Someone asked to reset the password of the account {username!r}.\n"
        f"To choose a new one, send this token to POST /api/auth/reset:\n\n{token}\n\n"
        f"It works once, for {minutes} minutes from the request.\n"
        "If you did not ask, ignore this mail.\n",
    )
    Session.commit()


def resend_unsent() -> int:
    """Queue a job again for every reset request unsent after RESEND_INTERVAL.

    The row, not the queue, says what is still to do: a job that never reached
    the queue (Redis down) or never reached a worker (lost between the broker
    and a worker that died) is queued again. A job still waiting in the queue
    is queued twice; send_reset() mails once anyway.
    """
    now = utcnow()
    waited = timedelta(seconds=current_app.config["RESEND_INTERVAL"])
    unsent = Session.scalars(
        select(PasswordReset.id).where(
            PasswordReset.sent_at.is_(None),
            PasswordReset.expires_at > now,
            PasswordReset.created_at <= now - waited,
        )
    ).all()
    Session.rollback()  # no transaction held while Redis is asked
    for reset_id in unsent:
        send_reset.delay(reset_id)
    return len(unsent)


@shared_task
def resend_unsent_task() -> None:
    """What celery beat runs every RESEND_INTERVAL seconds (blog/jobs.py)."""
    if queued := resend_unsent():
        current_app.logger.warning("Queued %d unsent reset requests again", queued)


INVALID = "The reset token is not valid: unknown, used or expired. Ask for a new one."


@bp.post("/auth/reset")
@ratelimit.client_attempts
@bp.input(schemas.ResetPassword, arg_name="data")
@bp.output({}, status_code=204)
@bp.doc(responses={400: INVALID})
def reset_password(data: schemas.ResetPassword) -> tuple[str, int]:
    found = Session.scalar(
        select(PasswordReset).where(
            PasswordReset.digest == token_digest(data.token), PasswordReset.expires_at > utcnow()
        )
    )
    if found is None:
        abort(400, INVALID)
    user_id = found.user_id
    # Used once: of two requests with one token, only the one whose DELETE
    # removes the row goes on (the other waits for its commit, then finds none).
    if Session.execute(delete(PasswordReset).where(PasswordReset.id == found.id)).rowcount == 0:
        Session.rollback()
        abort(400, INVALID)
    Session.execute(
        update(User).where(User.id == user_id).values(password_hash=hash_password(data.password))
    )
    # Whoever holds a login or another reset mail of this account is out: the
    # reason to reset may be that someone else got in.
    Session.execute(delete(Token).where(Token.user_id == user_id))
    Session.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
    Session.commit()
    return "", 204
