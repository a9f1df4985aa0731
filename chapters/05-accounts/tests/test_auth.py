"""Tokens and passwords under attack: every bad token is a 401, nothing secret leaks."""

import hashlib
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.datastructures import WWWAuthenticate

from blog import auth, create_app
from blog.db import Session
from blog.models import Token, User
from conftest import PASSWORD

POST = {"title": "Hello", "body": "First post."}


def assert_401(response, error=None):
    assert response.status_code == 401
    assert response.is_json and response.json["message"]
    challenge = WWWAuthenticate.from_header(response.headers["WWW-Authenticate"])
    assert challenge.type == "bearer"
    assert challenge.parameters.get("realm") == "blog"
    assert challenge.parameters.get("error") == error


def write(client, headers):
    return client.post("/api/posts", json=POST, headers=headers)


SEND = "Send 'Authorization: Bearer <token>'"
MALFORMED = "The token is malformed."
UNKNOWN = "The token is not valid"


@pytest.mark.parametrize(
    ("headers", "error", "message"),
    [
        ({}, None, SEND),
        ({"Authorization": ""}, None, SEND),
        ({"Authorization": "Basic YWRhOnNlY3JldA=="}, None, SEND),
        ({"Authorization": "Token abc"}, None, SEND),
        ({"Authorization": "Bearer"}, "invalid_token", MALFORMED),
        ({"Authorization": "Bearer "}, "invalid_token", MALFORMED),
        # Refused by their shape, before any lookup: the message says so.
        ({"Authorization": "Bearer a=b"}, "invalid_token", MALFORMED),
        ({"Authorization": "Bearer not a token"}, "invalid_token", MALFORMED),
        ({"Authorization": "Bearer " + "A" * 5000}, "invalid_token", MALFORMED),
        ({"Authorization": "Bearer " + "\u0661" * 43}, "invalid_token", MALFORMED),
        ({"Authorization": "Bearer " + "A" * 43}, "invalid_token", UNKNOWN),  # well-formed
    ],
)
def test_writes_without_a_valid_token_are_401(client, count_rows, headers, error, message):
    before = count_rows()
    response = write(client, headers)
    assert_401(response, error)
    assert response.json["message"].startswith(message)
    assert count_rows() == before


def test_a_tampered_token_is_401(client, ada, count_rows):
    last = "A" if ada.token[-1] != "A" else "B"
    assert_401(write(client, {"Authorization": f"Bearer {ada.token[:-1]}{last}"}), "invalid_token")
    assert count_rows()["posts"] == 0


def test_the_scheme_is_case_insensitive_but_the_token_is_not(client, ada):
    assert write(client, {"Authorization": f"bearer {ada.token}"}).status_code == 201
    assert_401(write(client, {"Authorization": f"Bearer {ada.token.swapcase()}"}), "invalid_token")


def test_an_expired_token_is_401(app, client, ada, count_rows):
    with app.app_context():
        Session.execute(update(Token).values(expires_at=auth.utcnow() - timedelta(seconds=1)))
        Session.commit()
    response = write(client, ada.headers)
    assert_401(response, "invalid_token")
    assert "expired" in response.json["message"]
    assert count_rows()["posts"] == 0


def test_a_token_works_until_it_expires(app, client, ada):
    with app.app_context():
        Session.execute(update(Token).values(expires_at=auth.utcnow() + timedelta(seconds=60)))
        Session.commit()
    assert write(client, ada.headers).status_code == 201


def test_the_lifetime_comes_from_the_settings(app, client, ada):
    app.config["TOKEN_LIFETIME"] = 60
    login = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert login.json["expires_in"] == 60
    with app.app_context():
        token = Session.scalar(select(Token).order_by(Token.id.desc()))
        assert token.expires_at - token.created_at == timedelta(seconds=60)


def test_a_logged_out_token_is_401_and_other_logins_keep_working(client, ada):
    second = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert client.post("/api/auth/logout", headers=ada.headers).status_code == 204
    assert_401(write(client, ada.headers), "invalid_token")
    assert_401(client.post("/api/auth/logout", headers=ada.headers), "invalid_token")
    other = {"Authorization": f"Bearer {second.json['token']}"}
    assert write(client, other).status_code == 201


@pytest.mark.real_password_hashing
def test_the_database_holds_no_token_and_no_password(app, client, ada):
    with app.app_context():
        user = Session.get(User, ada.id)
        token = Session.scalar(select(Token))
        assert user.password_hash.startswith(auth.PASSWORD_HASH_METHOD + "$")
        assert PASSWORD not in user.password_hash
        assert token.digest == auth.token_digest(ada.token) != ada.token


@pytest.mark.parametrize(
    "login",
    [
        {"username": "ada", "password": "wrong horse battery staple"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "nobody", "password": "wrong horse battery staple"},
    ],
)
def test_login_failures_all_look_the_same(client, ada, login):
    response = client.post("/api/auth/login", json=login)
    assert_401(response)
    assert response.json == {"error": "Unauthorized", "message": "Wrong username or password."}


@pytest.mark.real_password_hashing
def test_an_unknown_user_costs_a_password_check_too(client, ada, monkeypatch):
    # Without it a wrong username answers in microseconds and a wrong password
    # in tenths of a second (one scrypt run): the clock would tell which names exist.
    # The work is scrypt's: count its calls and their cost parameters.
    costs = []
    scrypt = hashlib.scrypt

    def counting_scrypt(password, **parameters):
        costs.append(parameters)
        return scrypt(password, **parameters)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    n, r, p = map(int, auth.PASSWORD_HASH_METHOD.split(":")[1:])
    wrong = "wrong horse battery staple"
    for username in ["nobody", "ada"]:
        costs.clear()
        response = client.post("/api/auth/login", json={"username": username, "password": wrong})
        assert response.status_code == 401
        assert [(c["n"], c["r"], c["p"]) for c in costs] == [(n, r, p)], username


def test_a_user_without_a_password_cannot_log_in(flask_command, client):
    flask_command("seed")  # demo users have no password
    for password in [PASSWORD, "None", "null"]:
        response = client.post("/api/auth/login", json={"username": "ada", "password": password})
        assert response.status_code == 401


def test_passwords_and_tokens_never_reach_an_answer_or_a_log_line(app, client, register, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's statements included
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        ada = register("ada")
        answers = [
            client.get("/api/auth/me", headers=ada.headers),
            client.post("/api/posts", json=POST, headers=ada.headers),
            client.get("/api/users"),
            client.post("/api/auth/login", json={"username": "ada", "password": "x" * 20}),
            client.post("/api/auth/logout", headers=ada.headers),
        ]
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    with app.app_context():
        password_hash = Session.scalar(select(User.password_hash))
    assert "INSERT INTO users" in caplog.text  # the statements were logged...
    secrets = [ada.password, ada.token, password_hash, auth.token_digest(ada.token)]
    for secret in secrets:
        assert secret not in caplog.text  # ...but none of these values
        for response in answers:
            assert secret not in response.get_data(as_text=True)


# 10**12 seconds: an expiry in the year 33,000, which no datetime can hold.
@pytest.mark.parametrize("bad", [0, -60, "1h", 1.5, True, auth.MAX_TOKEN_LIFETIME + 1, 10**12])
def test_a_bad_token_lifetime_is_refused_when_the_app_is_built(database_url, bad):
    with pytest.raises(ValueError, match="TOKEN_LIFETIME"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "TOKEN_LIFETIME": bad})
