"""Probes: /healthz answers while the process runs; /readyz when the schema is not behind."""

import io
import logging

from blog import create_app, migrate
from blog.db import Session
from conftest import stamp_a_newer_revision


def test_healthz_answers_without_a_database(unavailable_client):
    # No database answers: the process itself is still alive.
    response = unavailable_client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_ready_at_the_newest_revision(client):
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_readyz_without_a_schema(empty_app):
    response = empty_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert "at no revision" in response.json["reason"]
    assert "flask init-db" in response.json["reason"]


def test_readyz_one_revision_behind(app, client):
    migrate.downgrade(Session.get_bind(), "-1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "flask init-db" in response.json["reason"]


def test_readyz_stays_ready_when_a_newer_release_migrated_the_database(app, client):
    # A rolling deploy: the next release has upgraded the schema while this one
    # still serves. Unready now, every old worker would leave the load balancer at once.
    stamp_a_newer_revision()
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_readyz_when_the_database_does_not_answer(unavailable_client):
    stream = io.StringIO()
    logging.getLogger("blog").handlers[0].setStream(stream)
    response = unavailable_client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reason": "The database does not answer."}
    assert "missing-folder" not in response.get_data(as_text=True)  # no internals
    request_id = response.headers["X-Request-ID"]
    assert f"ERROR blog [{request_id}] Readiness check" in stream.getvalue()  # but logged for us


def test_probes_are_logged_only_at_debug(database_url):
    def request_lines(level):
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "LOG_LEVEL": level})
        stream = io.StringIO()
        logging.getLogger("blog").handlers[0].setStream(stream)
        client = app.test_client()
        for path in ("/healthz", "/readyz", "/nope"):
            client.get(path)
        Session.get_bind().dispose()
        lines = stream.getvalue().splitlines()
        return [" ".join(line.split("] ")[1].split()[:2]) for line in lines if "] GET" in line]

    assert request_lines("INFO") == ["GET /nope"]
    assert request_lines("DEBUG") == ["GET /healthz", "GET /readyz", "GET /nope"]
