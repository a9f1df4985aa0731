"""One line per request with its id; errors with id and traceback; no secrets;
gunicorn's own lines as JSON too, when the app's are."""

import io
import json
import logging
import os
import re
import runpy
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from test_servers import BIN, CHAPTER, call, free_port, serving

from blog import auth, create_app, logs
from blog.db import Session
from blog.models import Token, User
from conftest import PASSWORD


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


# time, level, logger, [id], method, path, status, duration, client, then
# name=value for what there is: user_id=7, sent_request_id="...", refused="..."
TEXT_LINE = re.compile(
    r"\S+ \S+ INFO blog\.request \[(?P<id>[^\]]+)\] "
    r"(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>[\d.]+)ms (?P<client>\S+)"
    r"(?P<more>(?: \w+=(?:\d+|\"(?:[^\"\\]|\\.)*\"))*)"
)


FIELD = re.compile(r' (\w+)=(\d+|"(?:[^"\\]|\\.)*")')


def more(match):
    """The name=value fields after the client's address, as a dict."""
    return {name: json.loads(value) for name, value in FIELD.findall(match["more"])}


@pytest.fixture
def behind_a_proxy(app):
    """The app as configured behind one reverse proxy."""
    app.config["TRUSTED_PROXIES"] = 1
    return app


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


def test_a_proxys_request_id_is_kept_and_echoed(behind_a_proxy, client, log_output):
    response = client.get("/hello", headers={"X-Request-ID": "lb-7f3a.42_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42_x"
    (line,) = log_output()
    assert "[lb-7f3a.42_x] GET /hello 200" in line
    assert "sent_request_id" not in line


def test_a_clients_request_id_is_noted_not_trusted(client, log_output):
    # No proxy: the header came from the client, who may send another request's id.
    response = client.get("/hello", headers={"X-Request-ID": "lb-7f3a.42_x"})
    made = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    (line,) = log_output()
    match = TEXT_LINE.fullmatch(line)
    assert match["id"] == made
    assert more(match) == {"sent_request_id": "lb-7f3a.42_x"}


ODD_IDS = ["", "x" * 65, "has space", "tab\tid", "semi;colon", "ünï", "<script>", 'q"uote']


@pytest.mark.parametrize("trusted_proxies", [0, 1])
@pytest.mark.parametrize("sent", ODD_IDS)
def test_an_odd_request_id_is_replaced(app, client, log_output, sent, trusted_proxies):
    app.config["TRUSTED_PROXIES"] = trusted_proxies
    response = client.get("/hello", headers={"X-Request-ID": sent})
    made = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    (line,) = log_output()
    assert TEXT_LINE.fullmatch(line)["id"] == made
    assert "sent_request_id" not in line  # not even kept apart: it is not written at all


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_errors_are_logged_with_the_id_and_the_traceback(client, log_output):
    response = client.get("/boom")
    assert response.status_code == 500
    assert "disk on fire" not in response.get_data(as_text=True)
    request_id = response.headers["X-Request-ID"]
    text = "\n".join(log_output())
    assert f"ERROR blog [{request_id}] Unhandled exception" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: disk on fire" in text
    assert f"[{request_id}] GET /boom 500" in text  # and the request line, with the same id


def test_a_path_cannot_forge_a_log_line(client, log_output):
    client.get("/hello%0A2026-01-01 INFO blog.request [x] GET /admin 200")
    lines = log_output()
    assert len(lines) == 1
    assert "/hello%0A2026-01-01%20INFO" in lines[0]


FORGED = "\n2026-01-01 INFO blog.request [x] GET /admin 200"


def test_a_method_cannot_forge_a_log_line(client, log_output):
    # A real server reads the request line up to its end, so no method it
    # passes on holds a newline; a WSGI environ can, and the line stays one.
    response = client.open("/hello", method="GET" + FORGED)
    assert response.status_code == 405
    (line,) = log_output()
    assert (
        TEXT_LINE.fullmatch(line)["method"]
        == "GET%0A2026-01-01%20INFO%20BLOG.REQUEST%20%5BX%5D%20GET%20%2FADMIN%20200"
    )


def send_raw(base, request):
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        return connection.makefile("rb").read().decode()


def test_a_method_is_escaped_over_a_real_socket(tmp_path, database_url):
    odd = b'GE"T\x1b[2J /api/users HTTP/1.1\r\nHost: blog\r\nConnection: close\r\n\r\n'
    # flask run passes any method on: the app answers, and logs it escaped.
    with serving("flask run", tmp_path, database_url, seed=False) as (base, log):
        assert send_raw(base, odd).startswith("HTTP/1.1 405")
    (line,) = [
        line
        for line in log.read_text().splitlines()
        if " blog.request " in line and "/api/users" in line
    ]
    match = TEXT_LINE.fullmatch(line)
    assert (match["method"], match["status"]) == ("GE%22T%1B%5B2J", "405")
    assert "\x1b" not in line
    # gunicorn refuses a method that is not a token: the app never sees it.
    with serving("gunicorn", tmp_path, database_url, seed=False) as (base, log):
        assert send_raw(base, odd).startswith("HTTP/1.1 400")
    assert "/api/users" not in log.read_text()


def test_a_line_names_the_user(client, ada, log_output):
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert post.status_code == 201
    (line,) = log_output()
    match = TEXT_LINE.fullmatch(line)
    assert (match["method"], match["status"]) == ("POST", "201")
    assert more(match) == {"user_id": ada.id}


def test_the_user_is_named_without_loading_the_account_again(app, client, ada, log_output):
    # The view committed, which expired g.user. Another request deletes the
    # account before the line is written: loading it again would fail the
    # write that succeeded with a 500.
    def delete_the_account_meanwhile(response):
        with Session.get_bind().begin() as connection:
            connection.execute(delete(User).where(User.id == ada.id))
        return response

    # Added last, so it runs first (after_request hooks run in reverse); added
    # to the list because the app, having served requests, refuses new hooks.
    app.after_request_funcs[None].append(delete_the_account_meanwhile)
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert post.status_code == 201
    (line,) = log_output()
    assert more(TEXT_LINE.fullmatch(line)) == {"user_id": ada.id}


def refusals(client, ada, grace):
    """One request for each way a token or a user is refused."""
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    write = {"json": {"title": "Mine now"}}
    yield "no token", None, client.patch(f"/api/posts/{post.json['id']}", **write)
    yield (
        "malformed",
        None,
        client.patch(
            f"/api/posts/{post.json['id']}", headers={"Authorization": "Bearer x"}, **write
        ),
    )
    yield (
        "unknown",
        None,
        client.patch(
            f"/api/posts/{post.json['id']}",
            headers={"Authorization": "Bearer " + "x" * 43},
            **write,
        ),
    )
    yield (
        "not the owner",
        grace.id,
        client.patch(f"/api/posts/{post.json['id']}", headers=grace.headers, **write),
    )
    yield (
        "not their account",
        ada.id,
        client.delete(f"/api/users/{grace.id}", json={"password": PASSWORD}, headers=ada.headers),
    )
    yield (
        "wrong password",
        ada.id,
        client.delete(f"/api/users/{ada.id}", json={"password": "not it"}, headers=ada.headers),
    )
    with client.application.app_context():
        Session.execute(update(Token).values(expires_at=auth.utcnow() - timedelta(seconds=1)))
        Session.commit()
    yield (
        "expired",
        None,
        client.patch(f"/api/posts/{post.json['id']}", headers=ada.headers, **write),
    )


def test_a_refusal_says_why(client, ada, grace, log_output):
    answers = list(refusals(client, ada, grace))
    lines = [TEXT_LINE.fullmatch(line) for line in log_output()]
    refused = [line for line in lines if line["status"] in ("401", "403")]
    assert len(refused) == len(answers)
    reasons = set()
    for (case, user_id, response), line in zip(answers, refused, strict=True):
        assert response.status_code in (401, 403), case
        expected = {"refused": response.json["message"]}  # the words the client got
        if user_id is not None:
            expected["user_id"] = user_id  # a token was valid: whose it was
        assert more(line) == expected, case
        reasons.add(response.json["message"])
    assert len(reasons) == len(answers)  # each case its own reason


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
    response = app.test_client().get("/nope", headers={"X-Request-ID": "abc"})
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["sent_request_id"] == "abc"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/nope", 404)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "blog.request"
    assert isinstance(entry["duration_ms"], float)
    assert entry["time"].endswith("+00:00")
    Session.get_bind().dispose()


def test_json_lines_carry_the_traceback(app, log_output):
    logging.getLogger("blog").handlers[0].setFormatter(logs.JSONFormatter())
    response = app.test_client().get("/boom")
    error, request_line = (json.loads(line) for line in log_output())
    assert (error["level"], error["message"]) == ("ERROR", "Unhandled exception")
    assert error["traceback"].endswith("RuntimeError: disk on fire")
    assert error["request_id"] == request_line["request_id"] == response.headers["X-Request-ID"]


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


# The one timestamp format of every JSON line, the app's and gunicorn's: UTC, to the millisecond.
JSON_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def json_lines(text):
    """Every line of ``text`` as JSON: a line that is not JSON fails the test."""
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries, "no output"
    assert all(JSON_TIME.fullmatch(entry["time"]) for entry in entries), text
    return entries


@pytest.mark.parametrize(
    ("variable", "expected"), [(None, "text"), ("text", "text"), ("json", "json")]
)
def test_gunicorn_reads_the_format_from_the_environment(monkeypatch, variable, expected):
    # Not from instance/config.py: gunicorn's master reads none of the app's settings.
    if variable:
        monkeypatch.setenv("FLASK_LOG_FORMAT", variable)
    settings = runpy.run_path(str(CHAPTER / "gunicorn.conf.py"))
    assert bool(settings["logconfig_dict"]) == (expected == "json")


def test_gunicorn_and_the_app_format_a_record_alike(monkeypatch, app):
    monkeypatch.setenv("FLASK_LOG_FORMAT", "json")
    settings = runpy.run_path(str(CHAPTER / "gunicorn.conf.py"))
    record = logging.makeLogRecord({"name": "x", "msg": "hello", "levelname": "INFO"})
    record.request_id = "-"
    app_entry = json.loads(logs.JSONFormatter().format(record))
    gunicorn_entry = json.loads(settings["JSONFormatter"]().format(record))
    shared = {"time", "level", "logger", "message"}
    assert {k: app_entry[k] for k in shared} == {k: gunicorn_entry[k] for k in shared}
    assert JSON_TIME.fullmatch(gunicorn_entry["time"])


def waiting(condition, log):
    """Wait until ``condition()`` holds: a hang guard (60 s), not a speed test."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def without_run_details(entry):
    """A JSON line without what changes from run to run: times, ids, numbers in the message."""
    kept = {k: v for k, v in entry.items() if k not in {"time", "pid", "request_id", "duration_ms"}}
    kept["message"] = re.sub(r"\d+", "N", kept["message"])  # pids, ports, durations
    return json.dumps(kept, sort_keys=True)


# Lines of one run of the test below, shown in the docs: every run prints
# them again, times and numbers aside.
SHOWN = CHAPTER / "tests" / "gunicorn-json-lines.txt"


def test_gunicorn_writes_json_lines_from_boot_to_shutdown(database_url, tmp_path):
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "a-real-secret-of-some-length",
        "FLASK_DATABASE_URL": database_url,
        "FLASK_LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "1",
    }
    subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True, timeout=60)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}"],
            cwd=CHAPTER,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        waiting(lambda: call(base + "/readyz")[0] == 200, log)
        post = {"title": "T", "body": "B"}
        assert call(base + "/api/posts", "POST", post, {"X-Request-ID": "from-a-client"})[0] == 401
        process.send_signal(signal.SIGHUP)  # reload: a new worker, the old one exits

        def booted():
            return sum("Booting worker" in e["message"] for e in json_lines(log.read_text()))

        waiting(lambda: booted() == 2, log)
        process.terminate()
        process.wait(timeout=60)  # workers finish booting before they exit
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    entries = json_lines(log.read_text())
    printed = {without_run_details(entry) for entry in entries}
    for line in SHOWN.read_text().splitlines():
        assert without_run_details(json.loads(line)) in printed, (line, log.read_text())
    (refused,) = [e for e in entries if e["logger"] == "blog.request" and e["status"] == 401]
    assert refused["refused"].startswith("Send 'Authorization: Bearer <token>'")
    assert refused["sent_request_id"] == "from-a-client"


def test_gunicorns_refusal_is_one_json_line(database_url):
    env = {
        **os.environ,
        "FLASK_SECRET_KEY": "",
        "FLASK_DATABASE_URL": database_url,
        "FLASK_LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=CHAPTER,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard: a busy machine is slow to start gunicorn
    )
    assert result.returncode == 1
    assert result.stdout == ""
    entries = json_lines(result.stderr)
    (refusal,) = [e for e in entries if e["level"] == "ERROR"]
    assert refusal["logger"] == "gunicorn.error"
    assert refusal["message"].startswith("Refusing to start:\n- SECRET_KEY is not set")
    assert not any("Booting worker" in e["message"] for e in entries)
