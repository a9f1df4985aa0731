"""Client mistakes get a 4xx with a JSON message, and change no rows."""

import io
import json

import pytest

GOOD_USER = {"username": "ada", "email": "ada@example.com"}
GOOD_POST = {"title": "Hello", "body": "First post."}


@pytest.fixture
def user_id(client):
    return client.post("/users", json=GOOD_USER).json["id"]


def assert_json_error(response, status, *words):
    assert response.status_code == status
    assert response.is_json, response.data
    message = response.json["message"]
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("{not json", 400, ["not valid JSON"]),
        ("[1, 2, 3]", 400, ["JSON object"]),
        ('"ada"', 400, ["JSON object"]),
        ("null", 400, ["JSON object"]),
        ("[" * 5000 + "]" * 5000, 400, []),
        ('{"username": "ada"}', 400, ["Missing", "email"]),
        ('{"username": "ada", "email": "a@b.io", "admin": true}', 400, ["Unknown", "admin"]),
        ('{"username": 42, "email": "a@b.io"}', 400, ["username", "string"]),
        ('{"username": ["ada"], "email": "a@b.io"}', 400, ["username", "string"]),
        ('{"username": "   ", "email": "a@b.io"}', 400, ["username", "empty"]),
        ('{"username": "ada lovelace", "email": "a@b.io"}', 400, ["username"]),
        ('{"username": "ada", "email": "not-an-email"}', 400, ["email"]),
        ('{"username": "ada\\u0000", "email": "a@b.io"}', 400, ["NUL"]),
        ('{"username": "ada", "email": "\\ud800@b.io"}', 400, ["email"]),
    ],
)
def test_bad_user_bodies(client, count_rows, body, status, words):
    before = count_rows()
    response = client.post("/users", data=body, content_type="application/json")
    assert_json_error(response, status, *words)
    assert count_rows() == before


def test_over_long_username(client, count_rows, rows):
    response = client.post("/users", json={"username": "a" * 81, "email": "a@b.io"})
    assert_json_error(response, 400, "at most 80")
    assert count_rows() == rows()


def test_body_without_json_content_type(client):
    response = client.post("/users", data="username=ada", content_type="text/plain")
    assert_json_error(response, 415, "application/json")


def test_body_over_the_size_limit(client, app, count_rows, rows):
    huge = "x" * (128 * 1024 + 1)  # the documented limit, so that removing the setting fails here
    response = client.post("/users", json={"username": "ada", "email": huge})
    assert_json_error(response, 413, "larger than the limit of 131,072 bytes")
    assert count_rows() == rows()


def test_the_longest_valid_post_fits_the_size_limit(client, user_id):
    # The test client escapes non-ASCII as json.dumps does: 12 bytes per emoji.
    post = {"title": "\U0001f600" * 200, "body": "\U0001f600" * 10_000}
    response = client.post(f"/users/{user_id}/posts", json=post)
    assert response.request.content_length == 122_425  # 12 bytes per emoji, plus the braces
    assert response.status_code == 201, response.json
    assert response.json["body"] == post["body"]


def test_the_size_limit_acts_when_the_body_is_read(client, app):
    # Checks that come first answer first; either way the body is never read.
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert_json_error(client.post("/users", data=huge, content_type="text/plain"), 415)
    assert_json_error(client.post("/users/999/posts", json={"title": huge}), 404)


def test_duplicate_username_is_a_conflict(client, user_id, count_rows):
    before = count_rows()
    response = client.post("/users", json={**GOOD_USER, "email": "other@example.com"})
    assert_json_error(response, 409, "taken")
    assert count_rows() == before


@pytest.mark.parametrize(
    "path", ["/users/999", "/users/999/posts", f"/users/{2**63 - 1}", f"/users/{2**63}"]
)
def test_unknown_user_is_404(client, path):
    assert_json_error(client.get(path), 404, "no user")


# Arabic-Indic and fullwidth "1": Python's int() reads both as 1.
@pytest.mark.parametrize("path", ["/users/%D9%A1", "/users/%EF%BC%91", "/users/%D9%A1/posts"])
def test_ids_are_ascii_digits_only(client, user_id, path):
    assert user_id == 1
    assert_json_error(client.get(path), 404)


@pytest.mark.parametrize("path", ["/users/01", "/users/001/posts"])
def test_ids_have_no_leading_zeros(client, user_id, count_rows, path, rows):
    # Otherwise /users/01 would be a second URL for user 1.
    assert user_id == 1
    assert_json_error(client.get(path), 404)
    assert_json_error(client.post("/users/01/posts", json=GOOD_POST), 404)
    assert count_rows() == rows(users=1)


def test_post_for_unknown_user_is_404(client, count_rows, rows):
    response = client.post("/users/999/posts", json=GOOD_POST)
    assert_json_error(response, 404, "999")
    assert count_rows() == rows()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"title": "Hi"}, ["Missing", "body"]),
        ({"title": "", "body": "x"}, ["title", "empty"]),
        ({"title": "x" * 201, "body": "x"}, ["title", "at most 200"]),
        ({"title": 1.5, "body": "x"}, ["title", "string"]),
        ({"title": "Hi", "body": None}, ["body", "string"]),
    ],
)
def test_bad_post_bodies(client, user_id, count_rows, body, words):
    before = count_rows()
    response = client.post(f"/users/{user_id}/posts", json=body)
    assert_json_error(response, 400, *words)
    assert count_rows() == before


def test_unknown_route_and_wrong_method(client):
    assert_json_error(client.get("/nope"), 404)
    response = client.delete("/users")
    assert_json_error(response, 405)
    # HTTP requires a 405 to list the methods the URL accepts.
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_injection_strings_are_stored_as_text(client, count_rows, rows):
    title = "'); DROP TABLE users; --"
    user = client.post("/users", json={"username": "bobby", "email": "b@b.io"}).json
    response = client.post(f"/users/{user['id']}/posts", json={"title": title, "body": "1 OR 1=1"})
    assert response.status_code == 201
    assert client.get(f"/users/{user['id']}/posts").json[0]["title"] == title
    assert count_rows() == rows(users=1, posts=1)


def test_unexpected_errors_are_json_without_internals(app, client, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("blog.api.Session.get", explode)
    response = client.get("/users/1")
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


def test_a_chunked_body_over_the_size_limit(client, app, count_rows, rows):
    # A valid object, then spaces past the limit: Werkzeug reads only up to the limit.
    body = (
        json.dumps({"username": "ada", "email": "ada@example.com"}).encode()
        + b" " * app.config["MAX_CONTENT_LENGTH"]
    )
    response = post_chunked(client, "/users", body)
    assert_json_error(response, 413, "larger than the limit of 131,072 bytes")
    assert count_rows() == rows()


def test_a_chunked_body_under_the_size_limit_is_read(client):
    response = post_chunked(
        client, "/users", json.dumps({"username": "ada", "email": "ada@example.com"}).encode()
    )
    assert response.status_code == 201, response.json
