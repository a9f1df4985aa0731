"""Every list comes a page at a time: bounded, newest first, with a link to the next page."""

import threading
import time

import pytest
from sqlalchemy import create_engine, delete, event, insert, text, update
from sqlalchemy.orm import Session as OrmSession

from blog.db import Session
from blog.models import Post, User
from blog.schemas import DEFAULT_LIMIT, MAX_LIMIT


@pytest.fixture
def many_users(app):
    """150 users, written straight to the table (registering each would hash 150 passwords)."""
    with app.app_context():
        rows = [{"username": f"user{n:03}", "email": f"u{n}@example.com"} for n in range(150)]
        Session.execute(insert(User), rows)
        Session.commit()
    return [row["username"] for row in rows]


def walk(client, url):
    """Follow ``next`` links from ``url``; return every page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        pages.append(response.json)
        url = response.json["next"]
    return pages


def test_the_default_page_is_bounded(client, many_users):
    page = client.get("/api/users").json
    assert len(page["items"]) == DEFAULT_LIMIT
    assert page["next"] == f"/api/users?limit={DEFAULT_LIMIT}&after={page['items'][-1]['id']}"


def test_following_next_visits_every_user_once_newest_first(client, many_users):
    pages = walk(client, "/api/users?limit=40")
    assert [len(page["items"]) for page in pages] == [40, 40, 40, 30]
    names = [user["username"] for page in pages for user in page["items"]]
    assert names == many_users[::-1]
    assert pages[-1]["next"] is None


def test_pages_are_in_id_order_whatever_order_the_rows_are_stored_in(client, many_users, engine):
    # Without ORDER BY a database returns rows in the order it finds them.
    # PostgreSQL writes an updated row anew, after the others: the first
    # forty rows move to the end of the table.
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id <= 40).values(email=User.email + "."))
    # SQLite finds its rows in id order, oldest first: newest first takes the
    # ORDER BY there too.
    pages = walk(client, "/api/users?limit=40")
    assert [user["username"] for page in pages for user in page["items"]] == many_users[::-1]


def test_a_full_last_page_has_no_next_link(client, many_users):
    pages = walk(client, "/api/users?limit=50")
    assert [len(page["items"]) for page in pages] == [50, 50, 50]


def test_pages_are_stable_while_rows_are_added(client, many_users, register):
    first = client.get("/api/users?limit=10").json
    newcomer = register("newcomer")  # a new row comes first, not in the middle
    second = client.get(first["next"]).json
    assert second["items"][0]["id"] == first["items"][-1]["id"] - 1
    assert client.get("/api/users?limit=10").json["items"][0]["id"] == newcomer.id


def test_a_row_deleted_from_an_earlier_page_skips_nothing(client, many_users, engine):
    # With OFFSET, the rows after the deleted one would move up a place, and
    # the first row of the next page would never be shown.
    first = client.get("/api/users?limit=10").json
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.id == first["items"][0]["id"]))
    second = client.get(first["next"]).json
    assert second["items"][0]["id"] == first["items"][-1]["id"] - 1


def test_public_pages_hold_no_email_addresses(client, many_users):
    for page in walk(client, f"/api/users?limit={MAX_LIMIT}"):
        for user in page["items"]:
            assert set(user) == {"id", "username"}
    assert b"@example.com" not in client.get("/api/users").data


def test_a_page_of_posts_reads_only_its_rows(app, client, ada, engine):
    with app.app_context():
        Session.execute(
            insert(Post), [{"user_id": ada.id, "title": f"T{n}", "body": "B"} for n in range(300)]
        )
        Session.commit()
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    try:
        page = client.get(f"/api/users/{ada.id}/posts?limit=5&after=100").json
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    # Post n is "T{n - 1}": the five before post 100, newest first.
    assert [post["title"] for post in page["items"]] == ["T98", "T97", "T96", "T95", "T94"]
    # Two statements: the user (for a 404), then one page with LIMIT, nothing else.
    selects = [s for s, _ in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2
    assert "LIMIT" in selects[1].upper()
    assert "posts" in selects[1]


def test_posts_come_in_pages_too(client, ada):
    for n in range(5):
        client.post("/api/posts", json={"title": f"T{n}", "body": "B"}, headers=ada.headers)
    pages = walk(client, f"/api/users/{ada.id}/posts?limit=2")
    assert [[p["title"] for p in page["items"]] for page in pages] == [
        ["T4", "T3"],
        ["T2", "T1"],
        ["T0"],
    ]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={MAX_LIMIT + 1}",
        "limit=-1",
        "limit=ten",
        "limit=",
        "limit=1.5",
        "limit=%D9%A1",  # an Arabic-Indic one: a digit to str.isdigit(), not to us
        "limit=%EF%BC%91",  # a fullwidth one
        "limit=" + "9" * 5000,
        "after=0",
        "after=-1",
        "after=x",
        "after=+1",
        "after=1_0",
        f"after={2**63}",
    ],
)
def test_bad_page_parameters_are_400(client, ada, query):
    name = query.split("=")[0]
    for path in ["/api/users", f"/api/users/{ada.id}/posts"]:
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.json["message"].startswith(f"'{name}' is not valid"), response.json


def wait_until_done_or_waiting(thread: threading.Thread, engine, table: str) -> None:
    """Wait until ``thread``'s request has answered, or waits for its turn to insert."""
    if engine.dialect.name == "sqlite":
        thread.join(0.5)  # SQLite gives no sign of a waiting writer: give it time
        return
    deadline = time.monotonic() + 10
    while thread.is_alive():
        assert time.monotonic() < deadline, "the second writer neither answered nor waited"
        with engine.connect() as connection:
            # A transaction waiting for the advisory lock named by the table's oid.
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND objid = CAST(CAST(:table AS regclass) AS oid)"
                ),
                {"table": table},
            )
        if waiting:
            return
        thread.join(0.02)


@pytest.mark.parametrize("listed", ["posts", "users"])
def test_a_row_committed_after_a_larger_id_is_not_skipped(app, client, ada, engine, listed):
    # Two writers at once; "slow" takes its id first and commits last.
    if listed == "posts":
        url, field = f"/api/users/{ada.id}/posts", "title"
        slow = Post(user_id=ada.id, title="slow", body="B")
        fast = ("/api/posts", {"title": "fast", "body": "B"}, ada.headers)
    else:
        url, field = "/api/users", "username"
        slow = User(username="slow", email="slow@example.com")
        fast = (
            "/api/users",
            {
                "username": "fast",
                "email": "f@example.com",
                "password": "correct horse battery staple",
            },
            {},
        )
    # The other writer and the checks connect as another process would: the
    # app's pool (POOL_SIZE 2) serves the request and the client's reads.
    other = create_engine(engine.url)
    with other.connect() as held, OrmSession(held) as writer:
        if engine.dialect.name == "postgresql":
            # If this test dies, the server ends the held transaction by itself.
            held.execute(text("SET idle_in_transaction_session_timeout = '10s'"))
            held.commit()
        writer.add(slow)
        writer.flush()  # the INSERT: "slow" has its id, and is not committed
        slow_id = slow.id
        answers = []
        path, body, headers = fast
        request = threading.Thread(
            target=lambda: answers.append(app.test_client().post(path, json=body, headers=headers))
        )
        request.start()
        wait_until_done_or_waiting(request, other, listed)
        # A client reads meanwhile, and keeps the newest id it was shown: what
        # comes before it on the first page later is new.
        first = client.get(url).json
        newest = first["items"][0]["id"] if first["items"] else 0
        writer.commit()
        request.join(10)
    assert answers[0].status_code == 201
    assert answers[0].json["id"] > slow_id
    new = [item for item in client.get(url).json["items"] if item["id"] > newest]
    shown = [item[field] for item in first["items"] + new]
    assert {"slow", "fast"} <= set(shown)
    other.dispose()
