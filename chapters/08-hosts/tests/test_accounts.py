"""What an account needs the first week: a new password, logging out everywhere,
deleting the account with its password, a password set from the command line,
and hashes that follow the current cost."""

import pytest
from sqlalchemy import select, text
from werkzeug.security import check_password_hash, generate_password_hash

from blog import auth
from blog.db import Session
from blog.models import User
from conftest import PASSWORD

NEW_PASSWORD = "a longer and newer passphrase"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def log_in(client, username="ada", password=PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def works(client, token):
    return client.get("/api/auth/me", headers=bearer(token)).status_code == 200


def password_hash(app, user_id):
    with app.app_context():
        return Session.scalar(select(User.password_hash).where(User.id == user_id))


def assert_json_error(response, status, words):
    assert response.status_code == status, response.json
    assert response.is_json and words in response.json["message"], response.json


# --- changing the password --------------------------------------------------


def change(client, account, current=PASSWORD, new=NEW_PASSWORD):
    body = {"current_password": current, "new_password": new}
    return client.post("/api/auth/password", json=body, headers=account.headers)


@pytest.mark.smoke
def test_changing_the_password_ends_every_other_token(client, ada, grace):
    other_logins = [log_in(client).json["token"] for _ in range(2)]
    response = change(client, ada)
    assert response.status_code == 204, response.json
    assert works(client, ada.token)  # the token of the change keeps working
    assert not any(works(client, token) for token in other_logins)
    assert works(client, grace.token)  # another user's logins are not touched
    assert log_in(client).status_code == 401
    assert log_in(client, password=NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing(app, client, ada, count_rows):
    other = log_in(client).json["token"]
    before, hash_before = count_rows(), password_hash(app, ada.id)
    response = change(client, ada, current="wrong horse battery staple")
    assert_json_error(response, 403, "password is wrong")
    assert count_rows() == before
    assert password_hash(app, ada.id) == hash_before
    assert works(client, other)
    assert log_in(client).status_code == 200


def test_a_new_password_follows_the_rules_of_registering(app, client, ada, count_rows):
    before, hash_before = count_rows(), password_hash(app, ada.id)
    assert_json_error(change(client, ada, new="too short"), 400, "at least 15 characters")
    assert count_rows() == before
    assert password_hash(app, ada.id) == hash_before


def test_a_password_change_for_an_account_deleted_mid_request_is_401(
    client, engine, ada, count_rows, rows, monkeypatch
):
    hash_password = auth.hash_password

    def delete_ada_then_hash(password):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        return hash_password(password)

    monkeypatch.setattr(auth, "hash_password", delete_ada_then_hash)
    assert_json_error(change(client, ada), 401, "no longer exists")
    assert count_rows() == rows()


# --- logging out everywhere -------------------------------------------------


@pytest.mark.smoke
def test_logging_out_everywhere_ends_every_token_of_the_user(client, ada, grace, count_rows):
    other = log_in(client).json["token"]
    response = client.post("/api/auth/logout-everywhere", headers=ada.headers)
    assert response.status_code == 204
    assert not works(client, ada.token)
    assert not works(client, other)
    assert works(client, grace.token)
    assert count_rows()["tokens"] == 1


# --- deleting the account ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"password": "wrong horse battery staple"}, 403, "password is wrong"),
        ({}, 400, "Missing field(s): password"),
        (None, 415, "Send a JSON body"),
        ("", 400, "not valid JSON"),  # the body dropped on the way, its content type kept
    ],
    ids=["wrong password", "no password", "no body", "empty JSON body"],
)
def test_a_token_alone_cannot_delete_the_account(client, ada, count_rows, body, status, words):
    before = count_rows()
    path = f"/api/users/{ada.id}"
    if body == "":
        response = client.delete(
            path, data="", content_type="application/json", headers=ada.headers
        )
    else:
        response = client.delete(path, json=body, headers=ada.headers)
    assert_json_error(response, status, words)
    assert count_rows() == before
    assert works(client, ada.token)


def test_the_password_deletes_the_account(client, ada, count_rows, rows):
    response = client.delete(
        f"/api/users/{ada.id}", json={"password": PASSWORD}, headers=ada.headers
    )
    assert response.status_code == 204
    assert count_rows() == rows()


# --- flask set-password -----------------------------------------------------


def test_set_password_lets_a_demo_user_log_in(app, flask_command, client):
    flask_command("seed")  # demo users have no password
    assert log_in(client, "ada", NEW_PASSWORD).status_code == 401
    result = flask_command("set-password", "ADA", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output  # hidden as it is typed
    assert result.output.count("New password") == 1
    assert "Repeat for confirmation" in result.output
    assert "Set the password of 'ada'" in result.output
    assert log_in(client, "ada", NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("too short", "Error: 'password' must be at least 15 characters."),
        ("x" * 129, "Error: 'password' must be at most 128 characters."),
    ],
)
def test_set_password_refuses_what_registering_refuses(app, flask_command, password, message):
    flask_command("seed")
    result = flask_command("set-password", "ada", input=f"{password}\n{password}\n")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == message
    assert "Traceback" not in result.output
    with app.app_context():
        assert Session.scalar(select(User.password_hash).filter_by(username="ada")) is None


def test_set_password_asks_again_when_the_two_differ(app, flask_command, client):
    flask_command("seed")
    typed = f"{NEW_PASSWORD}\n{NEW_PASSWORD}!\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    result = flask_command("set-password", "ada", input=typed)
    assert result.exit_code == 0, result.output
    assert "The two entered values do not match." in result.output
    assert log_in(client, "ada", NEW_PASSWORD).status_code == 200


def test_set_password_of_an_unknown_user(flask_command):
    result = flask_command("set-password", "nobody", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: There is no user 'nobody'."


def test_set_password_ends_the_accounts_tokens(flask_command, client, ada, grace):
    result = flask_command("set-password", "ada", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert not works(client, ada.token)
    assert works(client, grace.token)


# --- the cost of a hash, and rehashing at login -----------------------------


def set_hash(app, user_id, value):
    with app.app_context():
        Session.get(User, user_id).password_hash = value
        Session.commit()


@pytest.mark.real_password_hashing
def test_a_login_rehashes_werkzeugs_default_at_owasps_minimum(app, client):
    # An account hashed as this chapter used to: Werkzeug's default, scrypt N=2^15.
    with app.app_context():
        old = generate_password_hash(PASSWORD)
        user = User(username="ada", email="ada@example.com", password_hash=old)
        Session.add(user)
        Session.commit()
        user_id = user.id
    assert old.startswith("scrypt:32768:8:1$")
    assert log_in(client).status_code == 200
    new = password_hash(app, user_id)
    method, n, r, p = new.split("$")[0].split(":")
    # OWASP's Password Storage Cheat Sheet: scrypt with N=2^17, r=8, p=1 at least.
    assert method == "scrypt" and int(n) >= 2**17 and int(r) >= 8 and int(p) >= 1
    assert check_password_hash(new, PASSWORD)
    assert log_in(client).status_code == 200


def test_a_login_with_the_current_parameters_keeps_the_hash(app, client, ada):
    before = password_hash(app, ada.id)
    assert log_in(client).status_code == 200
    assert password_hash(app, ada.id) == before


def test_a_wrong_password_rehashes_nothing(app, client, ada):
    old = generate_password_hash(PASSWORD, method="scrypt:2048:8:1")
    set_hash(app, ada.id, old)
    assert log_in(client, password="wrong horse battery staple").status_code == 401
    assert password_hash(app, ada.id) == old


def test_a_rehash_does_not_undo_a_password_changed_meanwhile(app, client, engine, ada, monkeypatch):
    # The login checked the old password; the owner changes it before the new hash is stored.
    set_hash(app, ada.id, generate_password_hash(PASSWORD, method="scrypt:2048:8:1"))
    changed = generate_password_hash(NEW_PASSWORD, method=auth.PASSWORD_HASH_METHOD)
    hash_password = auth.hash_password

    def change_the_password_then_hash(password):
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE users SET password_hash = :hash WHERE id = :id"),
                {"hash": changed, "id": ada.id},
            )
        return hash_password(password)

    monkeypatch.setattr(auth, "hash_password", change_the_password_then_hash)
    assert log_in(client).status_code == 200
    assert password_hash(app, ada.id) == changed
