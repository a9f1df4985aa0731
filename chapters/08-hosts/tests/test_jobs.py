"""The job queue for real: Redis, celery workers and celery beat as separate processes.

Needs Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/0); without it
these tests fail with the command that installs it. Each test has its own key
prefix in Redis, so parallel runs never take each other's jobs.
"""

import os
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, insert, select, update

from blog import create_app, migrate, reset
from blog.auth import utcnow
from blog.db import Session
from blog.models import PasswordReset, Token
from conftest import BIN, CHAPTER, REDIS_URL, keep, wait_for

pytestmark = pytest.mark.queue

NEW_PASSWORD = "a new and long enough passphrase"
# A worker that dies mid-job gives its job back after this many seconds.
VISIBILITY_TIMEOUT = 2
# The mail as the docs show it, the token aside: every run checks it is current.
SHOWN = Path(__file__).resolve().parent / "reset-mail.txt"


@pytest.fixture
def settings(database_url, broker, mailbox) -> dict[str, object]:
    """The settings the test's app and its celery processes share."""
    return {
        "SECRET_KEY": "a-test-secret-of-some-length",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mailbox.port,
        "MAIL_TIMEOUT": 60,  # longer than any hold in these tests
        "VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT,
        "RATELIMIT_PER_CLIENT": "10000 per minute",
        **broker,
    }


@pytest.fixture
def app(settings):
    """The web side: the same settings as the workers, the same database and queue."""
    app = create_app({"TESTING": True, **settings})
    migrate.upgrade(Session.get_bind())
    yield app
    Session.remove()
    Session.get_bind().dispose()


@pytest.fixture
def start_worker(settings, celery_process):
    def start(**overrides):
        # As in production, a main process that takes jobs from Redis and a
        # child that runs them (prefork); one child, so one job at a time.
        worker_settings = {**settings, **overrides}
        return celery_process(
            worker_settings, "worker", "--concurrency", "1", *QUIET, ready=" ready."
        )

    return start


@pytest.fixture
def start_beat(settings, celery_process, tmp_path):
    def start(**overrides):
        # One beat, as in production, with its schedule file in the test's folder.
        schedule = str(tmp_path / "beat-schedule")
        return celery_process(
            {**settings, **overrides}, "beat", "--schedule", schedule, ready="beat: Starting"
        )

    return start


# No chatter between workers: each test's worker is alone on its prefix.
QUIET = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def token_of(message) -> str:
    lines = message.get_content().splitlines()
    return lines[lines.index("") + 1]


def unsent(engine) -> int:
    """Reset requests whose mail is not committed as sent.

    The SMTP server has a message before the worker commits: a test that
    uses a token waits until this is 0, or the token may not exist yet.
    """
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(PasswordReset).where(PasswordReset.sent_at.is_(None))
        )


def test_a_worker_mails_the_token_and_a_second_delivery_sends_nothing(
    client, ada, mailbox, start_worker
):
    worker = start_worker()
    answer = client.post("/api/auth/forgot", json={"email": "ada@example.com"})
    assert answer.status_code == 202
    wait_for(lambda: len(mailbox.messages) == 1, "the mail")
    (message,) = mailbox.messages
    token = token_of(message)
    headers = "".join(f"{name}: {message[name]}\n" for name in ("From", "To", "Subject"))
    body = message.get_content().replace("\r\n", "\n")  # SMTP sends CRLF line ends
    shown = headers + "\n" + body.replace(token, "<token>")
    assert shown == SHOWN.read_text(), f"{SHOWN} is out of date; the mail is now:\n{shown}"

    # The same job again, as a redelivery would bring it.
    (reset_id,) = Session.scalars(select(PasswordReset.id)).all()
    reset.send_reset.delay(reset_id)
    wait_for(lambda: worker.output().count("succeeded") == 2, "the second run", timeout=60)
    assert len(mailbox.messages) == 1
    done = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204


def test_a_worker_refuses_to_start_on_what_gunicorn_refuses(settings):
    env = {**os.environ, **{f"FLASK_{name}": str(value) for name, value in settings.items()}}
    env["FLASK_SECRET_KEY"] = "dev"
    result = subprocess.run(
        [BIN / "celery", "-A", "blog.worker", "worker", "--concurrency", "1", *QUIET],
        cwd=CHAPTER,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard: the refusal comes before any job is taken
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set to a string of at least 16 characters" in result.stderr


def unacked(broker_prefix: str) -> list[tuple[bytes, float]]:
    """The jobs workers took and have not acknowledged, with when each was taken."""
    client = redis.Redis.from_url(REDIS_URL)
    return client.zrange(f"{broker_prefix}unacked_index", 0, -1, withscores=True)


def test_a_job_whose_worker_is_killed_runs_again_on_the_next_worker(
    client, ada, mailbox, start_worker, settings, engine
):
    mailbox.hold_at = "RCPT"  # the first worker's SMTP conversation stops before the message
    first = start_worker()
    assert client.post("/api/auth/forgot", json={"email": "ada@example.com"}).status_code == 202
    wait_for(mailbox.held.is_set, "the first worker's SMTP conversation")
    first.kill()  # SIGKILL to the main process and its child: as when a host dies
    mailbox.release()

    # The job is not lost: Redis holds it as taken and not acknowledged. The
    # killed worker's transaction was never committed: the row is still unsent.
    (taken,) = unacked(settings["BROKER_KEY_PREFIX"])
    with engine.connect() as connection:
        assert connection.scalar(select(PasswordReset.sent_at)) is None
    assert mailbox.messages == []

    # Once VISIBILITY_TIMEOUT has passed since the job was taken, a worker that
    # starts puts it back in the queue and runs it.
    time.sleep(max(0.0, taken[1] + VISIBILITY_TIMEOUT - time.time()))
    second = start_worker()
    wait_for(lambda: len(mailbox.messages) == 1, f"the mail\n{second.output()}")
    wait_for(lambda: unacked(settings["BROKER_KEY_PREFIX"]) == [], "the acknowledgement")
    token = token_of(mailbox.messages[0])
    done = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204
    login = {"username": "ada", "password": NEW_PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 200
    assert len(mailbox.messages) == 1


def test_a_job_lost_between_redis_and_a_worker_is_queued_again(
    client, ada, mailbox, start_worker, start_beat, settings, engine
):
    assert client.post("/api/auth/forgot", json={"email": "ada@example.com"}).status_code == 202
    # What a worker killed just after it popped the job leaves behind: the job
    # is out of the queue and not yet in the list of taken ones, so no
    # visibility timeout brings it back.
    prefix = settings["BROKER_KEY_PREFIX"]
    assert redis.Redis.from_url(REDIS_URL).rpop(f"{prefix}celery") is not None
    assert unacked(prefix) == []
    resend = {"RESEND_INTERVAL": 1}
    start_worker(**resend)
    start_beat(**resend)
    wait_for(lambda: unsent(engine) == 0, "the lost job's mail, from the resend sweep")
    assert len(mailbox.messages) == 1


# Reset requests queued before the first worker starts: enough that it dies with work left.
QUEUED = 30


def test_captured_a_worker_killed_under_load_loses_no_job(
    client, register, mailbox, start_worker, start_beat, settings, engine
):
    addresses = [f"user{n}@example.com" for n in range(QUEUED)]
    for n, address in enumerate(addresses):
        register(f"user{n}", address)
    for address in addresses:  # all queued before a worker runs
        assert client.post("/api/auth/forgot", json={"email": address}).status_code == 202
    first = start_worker()
    wait_for(lambda: len(mailbox.messages) >= QUEUED // 3, "a third of the mails")
    first.kill()  # in the middle of a job, or between two: the test holds nothing back
    killed = time.monotonic()
    mailed_before = len(mailbox.messages)
    taken = unacked(settings["BROKER_KEY_PREFIX"])
    # The jobs still in the queue wait for any worker; the ones the dead worker
    # took wait for VISIBILITY_TIMEOUT too.
    time.sleep(max([0.0, *(when + VISIBILITY_TIMEOUT - time.time() for _, when in taken)]))
    # A job the dead worker had popped from Redis but not yet recorded as taken
    # is in neither list: only the resend sweep, from beat, queues it again.
    resend = {"RESEND_INTERVAL": 1}
    second = start_worker(**resend)
    start_beat(**resend)
    restarted = time.monotonic()

    wait_for(lambda: unsent(engine) == 0, f"every reset mailed\n{second.output()}", timeout=30)
    done = time.monotonic()
    wait_for(lambda: unacked(settings["BROKER_KEY_PREFIX"]) == [], "the acknowledgements")

    resent = sum(map(int, re.findall(r"Queued (\d+) unsent reset requests again", second.output())))
    mails = Counter(message["To"] for message in mailbox.messages)
    twice = [address for address, count in mails.items() if count == 2]
    assert sorted(mails) == sorted(addresses), "a reset request was never mailed"
    assert max(mails.values()) <= 2
    # A second mail only for a job the dead worker held: its first token never committed.
    assert len(twice) <= len(taken)
    newest = {message["To"]: token_of(message) for message in mailbox.messages}
    refused = 0
    for message in mailbox.messages:
        token = token_of(message)
        body = {"token": token, "password": NEW_PASSWORD}
        status = client.post("/api/auth/reset", json=body).status_code
        assert status == (204 if token == newest[message["To"]] else 400)
        refused += status == 400

    keep(
        "worker-killed.md",
        "A worker killed under load",
        [
            f"reset requests queued: {QUEUED}, one worker (1 pool process, prefetch 1),"
            f" {engine.dialect.name}, Redis as the broker",
            f"mailed before the kill (SIGKILL to the worker and its pool process): {mailed_before}",
            f"jobs taken and not acknowledged at the kill: {len(taken)}",
            f"second worker started {restarted - killed:.1f} s after the kill"
            f" (VISIBILITY_TIMEOUT {VISIBILITY_TIMEOUT} s)",
            f"the last mail {done - restarted:.1f} s after the second worker started",
            f"requests queued again by the resend sweep: {resent}",
            f"addresses mailed: {len(mails)} of {QUEUED}; once: {len(mails) - len(twice)},"
            f" twice: {len(twice)}, never: {QUEUED - len(mails)}",
            f"tokens that reset the password: {len(mailbox.messages) - refused},"
            f" refused (a first mail whose job died before its commit): {refused}",
        ],
    )


def test_a_worker_killed_after_the_mail_left_sends_a_second_and_only_it_works(
    client, ada, mailbox, start_worker, settings, engine
):
    mailbox.hold_at = "DATA"  # the server keeps the message; the worker never hears so
    first = start_worker()
    assert client.post("/api/auth/forgot", json={"email": "ada@example.com"}).status_code == 202
    wait_for(mailbox.held.is_set, "the first worker's message")
    first.kill()
    mailbox.release()
    (taken,) = unacked(settings["BROKER_KEY_PREFIX"])
    time.sleep(max(0.0, taken[1] + VISIBILITY_TIMEOUT - time.time()))
    second = start_worker()
    wait_for(lambda: len(mailbox.messages) == 2, f"the second mail\n{second.output()}")
    wait_for(lambda: unsent(engine) == 0, "the second worker's commit")
    stale, fresh = (token_of(message) for message in mailbox.messages)
    body = {"password": NEW_PASSWORD}
    assert client.post("/api/auth/reset", json={"token": stale, **body}).status_code == 400
    assert client.post("/api/auth/reset", json={"token": fresh, **body}).status_code == 204


def test_a_token_works_once_its_job_has_committed(client, ada, mailbox, start_worker, engine):
    mailbox.hold_at = "DATA"  # the message is in; the worker waits for the server's answer
    start_worker()
    assert client.post("/api/auth/forgot", json={"email": "ada@example.com"}).status_code == 202
    wait_for(mailbox.held.is_set, "the message")
    body = {"token": token_of(mailbox.messages[0]), "password": NEW_PASSWORD}
    assert client.post("/api/auth/reset", json=body).status_code == 400  # not committed yet
    mailbox.release()
    wait_for(lambda: unsent(engine) == 0, "the worker's commit")
    assert client.post("/api/auth/reset", json=body).status_code == 204


def test_beat_deletes_what_expired_and_keeps_the_rest(
    client, ada, start_worker, start_beat, engine
):
    now = utcnow()
    client.post("/api/auth/login", json={"username": "ada", "password": ada.password})
    with engine.begin() as connection:
        expired_token = connection.scalar(select(func.min(Token.id)))
        connection.execute(update(Token).where(Token.id == expired_token).values(expires_at=now))
        for expires_at in (now, now + timedelta(hours=1)):
            connection.execute(
                insert(PasswordReset).values(user_id=ada.id, created_at=now, expires_at=expires_at)
            )
    start_worker()
    start_beat(CLEANUP_INTERVAL=1)

    def remaining():
        with engine.connect() as connection:
            tokens = connection.scalars(select(Token.expires_at)).all()
            resets = connection.scalars(select(PasswordReset.expires_at)).all()
        return tokens, resets

    wait_for(lambda: all(len(rows) == 1 for rows in remaining()), "the cleanup")
    tokens, resets = remaining()
    assert tokens[0] > now and resets[0] > now


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_job_whose_pool_process_is_killed_runs_again_at_once(
    client, ada, mailbox, start_worker, engine
):
    mailbox.hold_at = "RCPT"
    # A visibility timeout of an hour: only the worker itself can give the job back in time.
    worker = start_worker(VISIBILITY_TIMEOUT=3600)
    assert client.post("/api/auth/forgot", json={"email": "ada@example.com"}).status_code == 202
    wait_for(mailbox.held.is_set, "the SMTP conversation")
    (child,) = children(worker.process.pid)
    os.kill(child, signal.SIGKILL)  # the process running the job dies, as by the OOM killer
    mailbox.release()
    # The main process sees its child die, puts the job back, and a new child runs it.
    wait_for(lambda: len(mailbox.messages) == 1, f"the mail\n{worker.output()}")
    assert "WorkerLostError" in worker.output()
    wait_for(lambda: unsent(engine) == 0, "the new child's commit")
    token = token_of(mailbox.messages[0])
    done = client.post("/api/auth/reset", json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 204
