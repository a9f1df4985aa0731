"""A forgotten password: the routes, and the job called directly (no queue here).

tests/test_jobs.py runs the same job through Redis and real workers.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from blog import cleanup, reset
from blog.auth import utcnow
from blog.db import Session
from blog.models import PasswordReset
from conftest import PASSWORD, free_port

NEW_PASSWORD = "a new and long enough passphrase"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The ids that POST /api/auth/forgot queues, instead of sending them to Redis."""
    ids: list[int] = []
    monkeypatch.setattr(reset.send_reset, "delay", ids.append)
    return ids


@pytest.fixture
def mailed(app, mailbox):
    """Run the queued jobs, as a worker would, and return the token of each mail."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port)

    def run(ids: list[int]) -> list[str]:
        before = len(mailbox.messages)
        for reset_id in ids:
            reset.send_reset(reset_id)
        return [token_of(message) for message in mailbox.messages[before:]]

    return run


def token_of(message) -> str:
    lines = message.get_content().splitlines()
    return lines[lines.index("") + 1]  # the line after the first blank one


def test_forgot_answers_the_same_whether_or_not_the_address_has_an_account(
    client, ada, queued, count_rows, rows
):
    known = client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    unknown = client.post("/api/auth/forgot", json={"email": "nobody@example.com"})
    assert (known.status_code, known.data, known.headers.get("Content-Type")) == (
        unknown.status_code,
        unknown.data,
        unknown.headers.get("Content-Type"),
    )
    assert known.status_code == 202
    assert known.json == {"message": reset.ON_ITS_WAY}
    # Only the real account got a request and a job.
    assert count_rows() == rows(users=1, tokens=1, password_resets=1)
    assert len(queued) == 1


def test_the_mailed_token_sets_the_password_once_and_ends_every_other_token(
    client, ada, queued, mailed, count_rows, rows
):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})  # a second mail
    first, second = mailed(queued)

    answer = client.post("/api/auth/reset", json={"token": first, "password": NEW_PASSWORD})
    assert answer.status_code == 204, answer.json
    login = {"username": "ada", "password": NEW_PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 200
    old = {"username": "ada", "password": PASSWORD}
    assert client.post("/api/auth/login", json=old).status_code == 401
    # The login from before the reset is over, and so is the other mail's token.
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 401
    for token in (first, second):
        again = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
        assert again.status_code == 400
        assert again.json["message"] == reset.INVALID
    assert count_rows() == rows(users=1, tokens=1)  # the new login's token only


def test_an_expired_token_changes_nothing(client, ada, queued, mailed, count_rows, engine):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    (token,) = mailed(queued)
    with engine.begin() as connection:
        connection.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    before = count_rows()
    answer = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert (answer.status_code, answer.json["message"]) == (400, reset.INVALID)
    assert count_rows() == before
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 200


@pytest.mark.parametrize("token", ["A" * 43, "short", "!" * 43])
def test_an_unknown_or_malformed_token_is_a_400(client, ada, count_rows, token):
    before = count_rows()
    answer = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert answer.status_code == 400
    assert "message" in answer.json
    assert count_rows() == before


def test_the_job_sends_one_mail_however_often_it_runs(client, ada, queued, mailed, mailbox):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    (token,) = mailed(queued)
    assert mailed(queued) == []  # the same job, delivered again
    assert len(mailbox.messages) == 1
    assert (
        client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD}).status_code
        == 204
    )


def test_the_job_stores_only_the_tokens_digest(client, ada, queued, mailed):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    (token,) = mailed(queued)
    stored = Session.scalars(select(PasswordReset.digest)).all()
    assert len(stored) == 1 and stored[0] is not None and token not in stored[0]


def test_a_job_for_an_expired_request_sends_nothing(client, ada, queued, mailed, engine):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    with engine.begin() as connection:
        connection.execute(update(PasswordReset).values(expires_at=utcnow()))
    assert mailed(queued) == []


def test_the_mail(client, ada, queued, mailed, mailbox, app):
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    (token,) = mailed(queued)
    (message,) = mailbox.messages
    assert message["To"] == "ada@example.com"
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == "Reset your password"
    assert "'ada'" in message.get_content() and len(token) == 43


def test_forgot_and_reset_are_rate_limited(app, client, ada, queued):
    app.config.update(RATELIMIT_PER_CLIENT="2 per minute")
    for path, body, status in [
        ("/api/auth/forgot", {"email": "ada@example.com"}, 202),
        ("/api/auth/reset", {"token": "A" * 43, "password": NEW_PASSWORD}, 400),
    ]:
        statuses = [client.post(path, json=body).status_code for _ in range(3)]
        assert statuses == [status, status, 429], path


def test_with_the_queue_down_forgot_still_answers_202(app, client, ada, count_rows, rows, caplog):
    # Nothing listens on this port: sending the job fails at once.
    app.extensions["celery"].conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    answer = client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    assert (answer.status_code, answer.json) == (202, {"message": reset.ON_ITS_WAY})
    assert "Could not queue password reset" in caplog.text
    # The request stays unsent; once it expires, the cleanup deletes it.
    assert count_rows() == rows(users=1, tokens=1, password_resets=1)
    with app.app_context():
        Session.execute(update(PasswordReset).values(expires_at=utcnow()))
        assert cleanup.delete_expired() == (0, 1)
    assert count_rows() == rows(users=1, tokens=1)


def test_a_request_still_unsent_after_the_interval_is_queued_again(
    app, client, ada, queued, engine
):
    app.config.update(RESEND_INTERVAL=60)
    for _ in range(4):
        client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    lost, fresh, sent, expired = queued
    now = utcnow()
    old = now - timedelta(seconds=61)
    with engine.begin() as connection:
        changes = {
            lost: {"created_at": old},  # its job never reached a worker
            sent: {"created_at": old, "sent_at": old},
            expired: {"created_at": old, "expires_at": now},
        }
        for reset_id, values in changes.items():
            connection.execute(
                update(PasswordReset).where(PasswordReset.id == reset_id).values(**values)
            )
    queued.clear()
    with app.app_context():
        assert reset.resend_unsent() == 1
    assert queued == [lost]


def test_a_job_runs_in_an_app_context_and_removes_its_session(app, client, ada, queued, mailbox):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port)
    client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    # The function alone, as a worker without blog/jobs.py's task class runs it:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        reset.send_reset.run(queued[0])
    Session.remove()
    reset.send_reset(queued[0])  # as the worker calls it: in an app context
    assert len(mailbox.messages) == 1
    assert not Session.registry.has()  # the context's teardown removed the job's session


def test_forgot_is_limited_per_address_whatever_the_client(app, client, ada, queued):
    app.config.update(RATELIMIT_PER_ACCOUNT="2 per minute")
    for client_address in ("192.0.2.1", "192.0.2.2"):
        answer = client.post(
            "/api/auth/forgot",
            json={"email": "ada@example.com"},
            environ_base={"REMOTE_ADDR": client_address},
        )
        assert answer.status_code == 202
    third = {"email": "ADA@example.com"}  # the same address in other case
    assert client.post("/api/auth/forgot", json=third).status_code == 429
    other = {"email": "grace@example.com"}
    assert client.post("/api/auth/forgot", json=other).status_code == 202
