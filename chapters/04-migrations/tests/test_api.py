"""Every route, on the happy path."""

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from blog.models import utc_timestamp


def create_user(client, username="ada", email="ada@example.com"):
    response = client.post("/users", json={"username": username, "email": email})
    assert response.status_code == 201, response.json
    return response.json


def test_index_says_the_app_is_up(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"The blog is up" in response.data
    assert b'href="/users"' in response.data


def test_index_escapes_what_comes_from_the_request(client):
    # A proxy's SCRIPT_NAME ends up in the URLs the app builds, and so in the page.
    attack = '/x"><script>alert(1)</script>'
    response = client.get("/", environ_overrides={"SCRIPT_NAME": attack})
    assert response.status_code == 200
    assert b"<script>" not in response.data
    assert b"&lt;script&gt;" in response.data


def test_users_have_64_bit_ids(client, engine):
    # Ids above 2**31 - 1 (where a 32-bit INTEGER ends) are users like any other.
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, username, email) VALUES (:id, 'big', 'big@b.io')"),
            {"id": 2**31},
        )
    response = client.get(f"/users/{2**31}")
    assert response.status_code == 200
    assert response.json["username"] == "big"
    assert client.get(f"/users/{2**31}/posts").json == []


def test_users_start_empty(client):
    assert client.get("/users").json == []


def test_create_and_read_a_user(client):
    user = create_user(client)
    assert user == {"id": user["id"], "username": "ada", "email": "ada@example.com"}
    assert client.get(f"/users/{user['id']}").json == user
    assert client.get("/users").json == [user]


def test_whitespace_around_fields_is_trimmed(client):
    user = create_user(client, "  grace ", " grace@example.com")
    assert (user["username"], user["email"]) == ("grace", "grace@example.com")


def test_users_are_listed_in_creation_order(client):
    names = ["linus", "ada", "grace"]
    for name in names:
        create_user(client, name, f"{name}@example.com")
    assert [u["username"] for u in client.get("/users").json] == names


@pytest.mark.smoke
def test_create_and_list_posts(client):
    user = create_user(client)
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post(
        f"/users/{user['id']}/posts", json={"title": "Hello", "body": "First post."}
    )
    assert response.status_code == 201
    post = response.json
    assert post == {
        "id": post["id"],
        "user_id": user["id"],
        "title": "Hello",
        "body": "First post.",
        "created_at": post["created_at"],
    }
    # The database's clock, in UTC, to the second: the same text from SQLite and PostgreSQL.
    written = datetime.fromisoformat(post["created_at"])
    assert written.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= written <= datetime.now(UTC) + timedelta(seconds=5)
    assert client.get(f"/users/{user['id']}/posts").json == [post]


def test_posts_belong_to_their_user(client):
    ada = create_user(client)
    grace = create_user(client, "grace", "grace@example.com")
    client.post(f"/users/{ada['id']}/posts", json={"title": "A", "body": "by ada"})
    assert client.get(f"/users/{grace['id']}/posts").json == []
    assert len(client.get(f"/users/{ada['id']}/posts").json) == 1


def test_post_times_are_written_in_utc_whatever_the_zone_they_come_in(monkeypatch):
    # PostgreSQL answers in the session's time zone, SQLite with no zone at all,
    # and neither may be read as the server's local time.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    tokyo = timezone(timedelta(hours=9))
    assert utc_timestamp(datetime(2026, 12, 7, 9, 30, 5, 123, tzinfo=tokyo)) == (
        "2026-12-07T00:30:05+00:00"
    )
    try:
        assert utc_timestamp(datetime(2026, 12, 7, 0, 30, 5)) == "2026-12-07T00:30:05+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()
