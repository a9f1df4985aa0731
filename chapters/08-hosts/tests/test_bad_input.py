"""Client mistakes get a 4xx with a JSON message, and change no rows."""

import io
import json

import pytest
from sqlalchemy.exc import IntegrityError

from blog.db import Session
from blog.models import User
from conftest import PASSWORD

GOOD_USER = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
GOOD_POST = {"title": "Hello", "body": "First post."}


def assert_json_error(response, status, *words):
    assert response.status_code == status
    assert response.is_json, response.data
    message = response.json["message"]
    for word in words:
        assert word in message, message


def user_body(**fields):
    return {**GOOD_USER, **fields}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("{not json", 400, ["not valid JSON"]),
        ("[1, 2, 3]", 400, ["JSON object"]),
        ('"ada"', 400, ["JSON object"]),
        ("null", 400, ["JSON object"]),
        ("[" * 5000 + "]" * 5000, 400, ["not valid JSON"]),  # nested past the recursion limit
        ('{"username": "ada"}', 400, ["Missing", "email", "password"]),
        ("{}", 400, ["Missing"]),
    ],
)
def test_bad_json_bodies(client, count_rows, body, status, words):
    before = count_rows()
    response = client.post("/api/users", data=body, content_type="application/json")
    assert_json_error(response, status, *words)
    assert count_rows() == before


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"admin": True}, ["Unknown"]),
        ({"username": 42}, ["username", "string"]),
        ({"username": ["ada"]}, ["username", "string"]),
        ({"username": "   "}, ["username", "letters, digits"]),
        ({"username": "ada lovelace"}, ["username"]),
        ({"username": "a" * 81}, ["at most 80"]),
        ({"username": "ada\u0000"}, ["username", "letters, digits"]),
        ({"username": "ad\u200ba"}, ["username", "letters, digits"]),  # zero-width space
        ({"username": "\u202eada"}, ["username", "letters, digits"]),  # right-to-left override
        ({"username": "\u0430da"}, ["username"]),  # Cyrillic a: one more lookalike
        ({"email": "not-an-email"}, ["email"]),
        ({"email": "ada@localhost"}, ["email"]),
        ({"email": "ada@example"}, ["email"]),
        ({"email": "\ud800@b.io"}, ["email"]),
        ({"email": "ada@exam\u200bple.com"}, ["email"]),
        ({"password": "too short"}, ["password", "at least 15"]),
        ({"password": "x" * 129}, ["password", "at most 128"]),
        ({"password": 123456789012345}, ["password", "string"]),
    ],
)
def test_bad_user_fields(client, count_rows, fields, words):
    before = count_rows()
    response = client.post("/api/users", json=user_body(**fields))
    assert_json_error(response, 400, *words)
    assert count_rows() == before


@pytest.mark.parametrize(
    "body",
    [
        {**GOOD_USER, "<script>alert(1)</script>": 1},
        {**GOOD_USER, "is_admin": True},
    ],
)
def test_unknown_keys_are_refused_without_being_echoed(client, count_rows, body):
    before = count_rows()
    response = client.post("/api/users", json=body)
    assert_json_error(response, 400, "Unknown fields are not accepted.")
    unknown = (set(body) - set(GOOD_USER)).pop()
    assert unknown not in response.get_data(as_text=True)
    assert count_rows() == before


def test_messages_never_repeat_a_password(client):
    secret = "\u0000 my secret passphrase"
    response = client.post("/api/users", json=user_body(password=secret))
    assert response.status_code == 400
    assert "passphrase" not in response.get_data(as_text=True)


def test_email_is_stored_in_normal_form(client, ada):
    body = user_body(username="grace", email="Grace@EXAMPLE.com")
    assert client.post("/api/users", json=body).json["email"] == "Grace@example.com"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_body_without_json_content_type(client, count_rows, content_type):
    before = count_rows()
    response = client.post("/api/users", data=GOOD_USER, content_type=content_type)
    assert_json_error(response, 415, "application/json")
    assert count_rows() == before


def test_body_over_the_size_limit(client, app, count_rows):
    before = count_rows()
    huge = "x" * (128 * 1024 + 1)  # the documented limit, so that removing the setting fails here
    response = client.post("/api/users", json=user_body(email=huge))
    assert_json_error(response, 413, "larger than the limit of 131,072 bytes")
    assert count_rows() == before


# Each field at its longest, every character an emoji: the test client escapes
# non-ASCII as json.dumps does, 12 bytes per emoji.
LONGEST_POST = {"title": "\U0001f600" * 200, "body": "\U0001f600" * 10_000}


def test_the_longest_valid_post_fits_the_size_limit(client, ada):
    response = client.post("/api/posts", json=LONGEST_POST, headers=ada.headers)
    assert response.status_code == 201, response.json
    assert response.json["body"] == LONGEST_POST["body"]
    edit = client.patch(f"/api/posts/{response.json['id']}", json=LONGEST_POST, headers=ada.headers)
    assert edit.status_code == 200, edit.json


def test_lengths_are_measured_as_sent(client, ada, count_rows):
    # Spaces around a field are trimmed, but still count: no valid body is
    # larger than the longest one above.
    response = client.post(
        "/api/posts", json={"title": "x" * 200 + " ", "body": "B"}, headers=ada.headers
    )
    assert_json_error(response, 400, "title", "at most 200")
    assert count_rows()["posts"] == 0


def test_the_longest_valid_account_fits_the_size_limit(client):
    # The longest address email-validator accepts: 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4.
    email = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.com"
    password = "\U0001f600" * 128
    body = user_body(username="a" * 80, email=email, password=password)
    response = client.post("/api/users", json=body)
    assert response.status_code == 201, response.json
    login = {"username": "a" * 80, "password": password}
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_the_size_limit_acts_when_the_body_is_read(client, app, ada):
    # Checks that come first answer first; either way the body is never read.
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert_json_error(client.post("/api/users", data=huge, content_type="text/plain"), 415)
    assert_json_error(client.post("/api/posts", json={"title": huge}), 401)
    assert_json_error(
        client.patch("/api/posts/999", json={"title": huge}, headers=ada.headers), 413
    )


@pytest.mark.parametrize("username", ["ada", "Ada", "ADA", " aDa "])
def test_usernames_are_unique_whatever_their_case(client, ada, count_rows, username):
    before = count_rows()
    response = client.post("/api/users", json=user_body(username=username, email="o@example.com"))
    assert_json_error(response, 409, "taken")
    assert count_rows() == before


def test_the_database_refuses_a_name_that_differs_only_in_case(app, ada):
    with app.app_context():
        Session.add(User(username="ADA", email="a@example.com"))
        with pytest.raises(IntegrityError):
            Session.commit()


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/999",
        "/api/users/999/posts",
        f"/api/users/{2**63 - 1}",
        f"/api/users/{2**63}",
        "/api/posts/999",
        f"/api/posts/{2**63}",
    ],
)
def test_unknown_ids_are_404(client, path):
    assert_json_error(client.get(path), 404, "no ")


# Arabic-Indic and fullwidth "1": Python's int() reads both as 1.
@pytest.mark.parametrize(
    "path",
    ["/api/users/%D9%A1", "/api/users/%EF%BC%91", "/api/users/%D9%A1/posts", "/api/posts/%D9%A1"],
)
def test_ids_are_ascii_digits_only(client, ada, path):
    assert ada.id == 1
    assert client.post("/api/posts", json=GOOD_POST, headers=ada.headers).json["id"] == 1
    assert_json_error(client.get(path), 404)


@pytest.mark.parametrize(
    "path", ["/api/users/01", "/api/users/001/posts", "/api/posts/01", "/api/users/0"]
)
def test_ids_have_no_leading_zeros(client, ada, path):
    # Otherwise /api/users/01 would be a second URL for user 1.
    assert ada.id == 1
    assert client.post("/api/posts", json=GOOD_POST, headers=ada.headers).json["id"] == 1
    assert_json_error(client.get(path), 404)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"title": "Hi"}, ["Missing", "body"]),
        ({"title": "", "body": "x"}, ["title", "empty"]),
        ({"title": "x" * 201, "body": "x"}, ["title", "at most 200"]),
        ({"title": 1.5, "body": "x"}, ["title", "string"]),
        ({"title": "Hi", "body": None}, ["body", "string"]),
        ({"title": "Hi\u202e", "body": "x"}, ["title", "invisible"]),
        ({"title": "Hi\x1b[31m", "body": "x"}, ["title", "control"]),
        ({"title": "Hi", "body": "x\x1b[31m"}, ["body", "control"]),
        ({"title": "Hi", "body": "x", "user_id": 2}, ["Unknown"]),
    ],
)
def test_bad_post_bodies(client, ada, count_rows, body, words):
    before = count_rows()
    response = client.post("/api/posts", json=body, headers=ada.headers)
    assert_json_error(response, 400, *words)
    assert count_rows() == before


def test_a_body_keeps_line_breaks_tabs_and_emoji(client, ada):
    body = "Line one\n\tindented\r\nfamily: \U0001f468\u200d\U0001f469\u200d\U0001f467"
    response = client.post("/api/posts", json={"title": "Hi", "body": body}, headers=ada.headers)
    assert response.status_code == 201
    assert response.json["body"] == body


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["at least one", "title", "body"]),
        ({"author": "grace"}, ["Unknown"]),
        ({"title": ""}, ["title", "empty"]),
        ({"body": 7}, ["body", "string"]),
    ],
)
def test_bad_edits(client, ada, body, words):
    post = client.post("/api/posts", json=GOOD_POST, headers=ada.headers).json
    response = client.patch(f"/api/posts/{post['id']}", json=body, headers=ada.headers)
    assert_json_error(response, 400, *words)
    assert client.get(f"/api/posts/{post['id']}").json == post


def test_someone_elses_post_is_403_and_unchanged(client, ada, grace, count_rows):
    post = client.post("/api/posts", json=GOOD_POST, headers=ada.headers).json
    path = f"/api/posts/{post['id']}"
    edit = client.patch(path, json={"title": "Mine now"}, headers=grace.headers)
    assert_json_error(edit, 403, "author")
    assert_json_error(client.delete(path, headers=grace.headers), 403, "author")
    assert client.get(path).json == post
    assert count_rows()["posts"] == 1


def test_someone_elses_account_is_403(client, ada, grace, count_rows):
    before = count_rows()
    response = client.delete(
        f"/api/users/{ada.id}", json={"password": grace.password}, headers=grace.headers
    )
    assert_json_error(response, 403, "own")
    assert count_rows() == before


def test_checks_run_in_order_401_the_body_404_then_403(client, ada, grace):
    post = client.post("/api/posts", json=GOOD_POST, headers=ada.headers).json
    path = f"/api/posts/{post['id']}"
    bad = {"data": "{bad", "content_type": "application/json"}
    assert client.patch("/api/posts/999", **bad).status_code == 401
    assert client.patch("/api/posts/999", **bad, headers=grace.headers).status_code == 400
    assert client.patch(path, **bad, headers=grace.headers).status_code == 400
    edit = {"json": {"title": "Mine now"}, "headers": grace.headers}
    assert client.patch("/api/posts/999", **edit).status_code == 404
    assert client.patch(path, **edit).status_code == 403
    assert client.get(path).json == post


def test_unknown_route_and_wrong_method(client):
    assert_json_error(client.get("/nope"), 404)
    response = client.delete("/api/users")
    assert_json_error(response, 405)
    # HTTP requires a 405 to list the methods the URL accepts.
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_injection_strings_are_stored_as_text(client, ada, count_rows, rows):
    title = "'); DROP TABLE users; --"
    response = client.post(
        "/api/posts", json={"title": title, "body": "1 OR 1=1"}, headers=ada.headers
    )
    assert response.status_code == 201
    assert client.get(f"/api/users/{ada.id}/posts").json["items"][0]["title"] == title
    assert count_rows() == rows(users=1, posts=1, tokens=1)


def test_unexpected_errors_are_json_without_internals(app, client, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("blog.users.Session.get", explode)
    response = client.get("/api/users/1")
    assert_json_error(response, 500)
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data
    assert "secret internals" in caplog.text  # but we logged it for ourselves


def post_chunked(client, path, body: bytes):
    """POST ``body`` as a chunked request: no Content-Length, the server ends the stream."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn and flask run set it
    )


def test_a_chunked_body_over_the_size_limit(client, app, count_rows):
    before = count_rows()
    # A valid object, then spaces past the limit: Werkzeug reads only up to the limit.
    body = json.dumps(user_body()).encode() + b" " * app.config["MAX_CONTENT_LENGTH"]
    response = post_chunked(client, "/api/users", body)
    assert_json_error(response, 413, "larger than the limit of 131,072 bytes")
    assert count_rows() == before


def test_a_chunked_body_under_the_size_limit_is_read(client):
    response = post_chunked(client, "/api/users", json.dumps(user_body()).encode())
    assert response.status_code == 201, response.json
