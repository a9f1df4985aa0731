"""Every route, on the happy path."""

import pytest
from sqlalchemy import text

from conftest import PASSWORD


def create_post(client, account, title="Hello", body="First post."):
    response = client.post(
        "/api/posts", json={"title": title, "body": body}, headers=account.headers
    )
    assert response.status_code == 201, response.json
    return response.json


def test_the_api_lives_under_one_prefix(app):
    # The health probes stay at the root: they are for the platform, not for clients.
    rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.startswith("health.")
    ]
    assert rules and all(rule.startswith("/api/") for rule in rules)


def test_users_have_64_bit_ids(client, engine):
    # Ids above 2**31 - 1 (where a 32-bit INTEGER ends) are users like any other.
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, username, email) VALUES (:id, 'big', 'big@b.io')"),
            {"id": 2**31},
        )
    response = client.get(f"/api/users/{2**31}")
    assert response.status_code == 200
    assert response.json["username"] == "big"
    assert client.get(f"/api/users/{2**31}/posts").json == {"items": [], "next": None}
    assert client.get(f"/api/users?after={2**31 + 1}").json["items"] == [response.json]


def test_users_start_empty(client):
    assert client.get("/api/users").json == {"items": [], "next": None}


def test_register_and_read_a_user(client):
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    response = client.post("/api/users", json=body)
    assert response.status_code == 201
    account = response.json
    # The new account's owner sees its e-mail address; nobody else does.
    assert account == {"id": account["id"], "username": "ada", "email": "ada@example.com"}
    public = {"id": account["id"], "username": "ada"}
    assert response.headers["Location"] == f"/api/users/{account['id']}"
    assert client.get(response.headers["Location"]).json == public
    assert client.get("/api/users").json == {"items": [public], "next": None}


def test_whitespace_around_fields_is_trimmed_but_not_in_passwords(client):
    body = {"username": "  grace ", "email": " grace@example.com", "password": f" {PASSWORD} "}
    account = client.post("/api/users", json=body).json
    assert (account["username"], account["email"]) == ("grace", "grace@example.com")
    login = {"username": "grace", "password": PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 401
    login["password"] = f" {PASSWORD} "
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_login_answers_a_token_once(client, ada):
    response = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    assert set(response.json) == {"token", "token_type", "expires_in"}
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 24 * 60 * 60
    assert response.json["token"] != ada.token  # each login is a token of its own
    assert response.headers["Cache-Control"] == "no-store"  # no cache keeps a copy


def test_login_ignores_the_case_of_the_username(client, ada):
    login = {"username": "ADA", "password": PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_me_shows_the_own_account(client, ada):
    response = client.get("/api/auth/me", headers=ada.headers)
    assert response.json == {"id": ada.id, "username": "ada", "email": "ada@example.com"}


@pytest.mark.smoke
def test_create_read_and_list_posts(client, ada):
    post = create_post(client, ada)
    assert post == {
        "id": post["id"],
        "user_id": ada.id,
        "title": "Hello",
        "body": "First post.",
        "created_at": post["created_at"],
    }
    assert client.get(f"/api/posts/{post['id']}").json == post
    assert client.get(f"/api/users/{ada.id}/posts").json == {"items": [post], "next": None}


def test_a_new_post_says_where_it_lives(client, ada):
    response = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/posts/{response.json['id']}"
    assert client.get(response.headers["Location"]).json == response.json


def test_the_author_edits_a_post(client, ada):
    post = create_post(client, ada)
    response = client.patch(
        f"/api/posts/{post['id']}", json={"title": "Hello again"}, headers=ada.headers
    )
    assert response.status_code == 200
    assert response.json == {**post, "title": "Hello again"}
    assert client.get(f"/api/posts/{post['id']}").json["title"] == "Hello again"


def test_the_author_deletes_a_post(client, ada, count_rows):
    post = create_post(client, ada)
    response = client.delete(f"/api/posts/{post['id']}", headers=ada.headers)
    assert response.status_code == 204
    assert client.get(f"/api/posts/{post['id']}").status_code == 404
    assert count_rows()["posts"] == 0


def test_a_user_deletes_themselves_with_their_posts_and_tokens(
    client, ada, grace, count_rows, rows
):
    create_post(client, ada)
    create_post(client, grace)
    assert count_rows() == rows(users=2, posts=2, tokens=2)
    assert (
        client.delete(
            f"/api/users/{ada.id}", json={"password": PASSWORD}, headers=ada.headers
        ).status_code
        == 204
    )
    assert count_rows() == rows(users=1, posts=1, tokens=1)
    assert client.get(f"/api/users/{ada.id}").status_code == 404
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 401


def test_logout_ends_the_token(client, ada, count_rows):
    assert client.post("/api/auth/logout", headers=ada.headers).status_code == 204
    assert count_rows()["tokens"] == 0
    response = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert response.status_code == 401


def test_posts_belong_to_their_user(client, ada, grace):
    create_post(client, ada)
    assert client.get(f"/api/users/{grace.id}/posts").json["items"] == []
    assert len(client.get(f"/api/users/{ada.id}/posts").json["items"]) == 1


def test_reads_need_no_token(client, ada):
    post = create_post(client, ada)
    for path in ["/api/users", f"/api/users/{ada.id}", f"/api/users/{ada.id}/posts"]:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/api/posts/{post['id']}").status_code == 200


def test_a_password_is_the_same_however_its_accents_were_typed(client):
    composed, decomposed = (
        "caf\u00e9 au lait, s'il vous pla\u00eet",
        "cafe\u0301 au lait, s'il vous plai\u0302t",
    )
    body = {"username": "zoe", "email": "zoe@example.com", "password": decomposed}
    assert client.post("/api/users", json=body).status_code == 201
    login = {"username": "zoe", "password": composed}
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_a_password_keeps_its_spaces(client):
    password = "  correct horse battery staple  "
    body = {"username": "zoe", "email": "zoe@example.com", "password": password}
    assert client.post("/api/users", json=body).status_code == 201
    login = {"username": "zoe", "password": password.strip()}
    assert client.post("/api/auth/login", json=login).status_code == 401
    login["password"] = password
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_the_id_of_a_deleted_row_is_never_given_again(client, register, ada, grace):
    # Without AUTOINCREMENT, SQLite numbers a new row after the largest id left:
    # delete the newest post or account, and the next one would take its URL.
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers).json
    assert client.delete(f"/api/posts/{post['id']}", headers=ada.headers).status_code == 204
    again = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers).json
    assert again["id"] == post["id"] + 1
    assert (
        client.delete(
            f"/api/users/{grace.id}", json={"password": PASSWORD}, headers=grace.headers
        ).status_code
        == 204
    )
    assert register("mary").id == grace.id + 1
