"""One line per request with its id; errors with id and traceback; no secrets."""

import io
import json
import logging
import re

import pytest

from blog import create_app
from blog.db import Session


@pytest.fixture
def app(app):
    """The app with a few plain routes, so these tests don't depend on the API's."""

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    @app.post("/things")
    def create_thing():
        return {"id": 1}, 201

    @app.get("/boom")
    def boom():
        raise RuntimeError("disk on fire")

    return app


@pytest.fixture
def log_output(app):
    """The app's real log handler and formatter, writing into a string we can read."""
    stream = io.StringIO()
    logging.getLogger("blog").handlers[0].setStream(stream)
    return lambda: stream.getvalue().splitlines()


# time, level, logger, [id], method, path, status, duration, client
TEXT_LINE = re.compile(
    r"\S+ \S+ INFO blog\.request \[(?P<id>[^\]]+)\] "
    r"(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>[\d.]+)ms (?P<client>\S+)"
)


def test_one_line_per_request(client, log_output):
    response = client.get("/hello")
    client.post("/things", json={"name": "x"})
    client.get("/nope")
    lines = [TEXT_LINE.fullmatch(line) for line in log_output()]
    assert all(lines), log_output()
    assert [(m["method"], m["path"], m["status"]) for m in lines] == [
        ("GET", "/hello", "200"),
        ("POST", "/things", "201"),
        ("GET", "/nope", "404"),
    ]
    assert lines[0]["id"] == response.headers["X-Request-ID"]
    assert lines[0]["client"] == "127.0.0.1"
    assert float(lines[0]["ms"]) >= 0


def test_a_sane_request_id_is_kept_and_echoed(client, log_output):
    response = client.get("/hello", headers={"X-Request-ID": "lb-7f3a.42_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42_x"
    assert "[lb-7f3a.42_x] GET /hello 200" in log_output()[0]


@pytest.mark.parametrize(
    "sent",
    ["", "x" * 65, "has space", "tab\tid", "semi;colon", "ünï", "<script>"],
)
def test_an_odd_request_id_is_replaced(client, log_output, sent):
    response = client.get("/hello", headers={"X-Request-ID": sent})
    made = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert f"[{made}] GET /hello 200" in log_output()[0]


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_errors_are_logged_with_the_id_and_the_traceback(client, log_output):
    response = client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert "disk on fire" not in response.get_data(as_text=True)
    text = "\n".join(log_output())
    assert "ERROR blog [req-500] Unhandled exception" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: disk on fire" in text
    assert "[req-500] GET /boom 500" in text  # and the request line, with the same id


def test_a_path_cannot_forge_a_log_line(client, log_output):
    client.get("/hello%0A2026-01-01 INFO blog.request [x] GET /admin 200")
    lines = log_output()
    assert len(lines) == 1
    assert "/hello%0A2026-01-01%20INFO" in lines[0]


def test_no_secrets_in_the_log(client, log_output):
    client.post(
        "/things?token=query-secret",
        json={"username": "ada", "password": "hunter2"},
        headers={"Authorization": "Bearer header-secret", "Cookie": "session=cookie-secret"},
    )
    text = "\n".join(log_output())
    assert "POST /things 201" in text
    for secret in ("query-secret", "hunter2", "header-secret", "cookie-secret", "Bearer"):
        assert secret not in text


def test_json_lines(database_url):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "LOG_FORMAT": "json"},
    )
    stream = io.StringIO()
    logging.getLogger("blog").handlers[0].setStream(stream)
    app.test_client().get("/nope", headers={"X-Request-ID": "abc"})
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "abc"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/nope", 404)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "blog.request"
    assert isinstance(entry["duration_ms"], float)
    assert entry["time"].endswith("+00:00")
    Session.get_bind().dispose()


# FLASK_LOG_LEVEL=30 arrives as the number 30 (from_prefixed_env reads JSON).
@pytest.mark.parametrize("level", ["WARNING", "warning", 30])
def test_the_level_comes_from_the_settings(database_url, level):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "LOG_LEVEL": level})
    stream = io.StringIO()
    logging.getLogger("blog").handlers[0].setStream(stream)
    app.test_client().get("/nope")
    assert stream.getvalue() == ""
    Session.get_bind().dispose()


def test_an_unknown_format_is_refused(database_url):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "LOG_FORMAT": "xml"})


def test_a_new_app_does_not_add_a_second_handler(app, database_url):
    create_app({"TESTING": True, "DATABASE_URL": database_url})
    Session.get_bind().dispose()
    assert len(logging.getLogger("blog").handlers) == 1
