"""Foreign keys hold on both databases, and a user's posts and tokens go with them."""

from sqlalchemy import event, text

from blog import auth, posts, schemas, users
from blog.db import Session
from blog.models import User
from conftest import PASSWORD


def test_the_database_deletes_posts_and_tokens_with_their_user(client, engine, ada, grace):
    # Plain SQL, no ORM: ON DELETE CASCADE alone must clean up.
    for account in (ada, grace):
        client.post("/api/posts", json={"title": "T", "body": "B"}, headers=account.headers)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        left = {
            table: connection.execute(text(f"SELECT user_id FROM {table}")).scalars().all()
            for table in ("posts", "tokens")
        }
    assert left == {"posts": [grace.id], "tokens": [grace.id]}


def test_deleting_a_user_does_not_load_their_posts(client, engine, ada):
    for n in range(3):
        client.post("/api/posts", json={"title": f"T{n}", "body": "B"}, headers=ada.headers)
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert (
            client.delete(
                f"/api/users/{ada.id}", json={"password": PASSWORD}, headers=ada.headers
            ).status_code
            == 204
        )
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert not [s for s in statements if "FROM posts" in s]
    assert [s for s in statements if s.startswith("DELETE FROM users")]


def test_the_orm_deletes_a_user_without_loading_their_posts(
    app, client, engine, ada, count_rows, rows
):
    # Session.delete(user), as a script would: a write-only collection cannot be
    # loaded, so without passive_deletes the ORM refuses to delete the user at all.
    client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        with app.app_context():
            Session.delete(Session.get(User, ada.id))
            Session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert not [s for s in statements if "FROM posts" in s or "FROM tokens" in s]
    assert count_rows() == rows()


def test_a_post_from_an_account_deleted_mid_request_is_401(
    client, engine, ada, count_rows, rows, monkeypatch
):
    # The token was valid when checked; the account goes before the post is written.
    check_body = schemas.NewPost.model_validate

    def delete_ada_then_check_body(data):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        return check_body(data)

    monkeypatch.setattr(schemas.NewPost, "model_validate", delete_ada_then_check_body)
    response = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    assert response.status_code == 401
    assert response.json["message"] == "The account no longer exists."
    assert count_rows() == rows()


def test_a_login_for_an_account_deleted_mid_request_is_401(
    client, engine, ada, count_rows, rows, monkeypatch
):
    # The password was right when checked; the account goes before the token is written.
    check = auth.check_password_hash

    def delete_ada_then_check(password_hash, password):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        return check(password_hash, password)

    monkeypatch.setattr(auth, "check_password_hash", delete_ada_then_check)
    response = client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json["message"] == "Wrong username or password."
    assert count_rows() == rows()


def test_an_edit_of_a_post_deleted_mid_request_is_404(client, engine, ada, monkeypatch):
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers).json

    get_own_post = posts.get_own_post

    def read_the_post_then_delete_it_elsewhere(post_id):
        found = get_own_post(post_id)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post_id})
        return found

    monkeypatch.setattr(posts, "get_own_post", read_the_post_then_delete_it_elsewhere)
    path = f"/api/posts/{post['id']}"
    response = client.patch(path, json={"title": "Too late"}, headers=ada.headers)
    assert response.status_code == 404, response.json
    assert f"no post with id {post['id']}" in response.json["message"]


def test_a_delete_of_a_post_deleted_mid_request_is_404(client, engine, ada, monkeypatch):
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers).json
    get_own_post = posts.get_own_post

    def read_the_post_then_delete_it_elsewhere(post_id):
        found = get_own_post(post_id)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post["id"]})
        return found

    monkeypatch.setattr(posts, "get_own_post", read_the_post_then_delete_it_elsewhere)
    response = client.delete(f"/api/posts/{post['id']}", headers=ada.headers)
    assert response.status_code == 404, response.json
    assert f"no post with id {post['id']}" in response.json["message"]


def test_a_delete_of_an_account_deleted_mid_request_is_404(client, engine, ada, monkeypatch):
    # Two requests delete the account: the token was valid when this one checked it.
    get_user_or_404 = users.get_user_or_404

    def read_the_user_then_delete_it_elsewhere(user_id):
        found = get_user_or_404(user_id)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": ada.id})
        return found

    monkeypatch.setattr(users, "get_user_or_404", read_the_user_then_delete_it_elsewhere)
    response = client.delete(
        f"/api/users/{ada.id}", json={"password": PASSWORD}, headers=ada.headers
    )
    assert response.status_code == 404, response.json
    assert f"no user with id {ada.id}" in response.json["message"]


def test_a_logout_racing_another_logout_of_its_token_is_204(
    client, engine, ada, count_rows, rows, monkeypatch
):
    # Two requests log out the same token: both found it valid, one deletes it first.
    authenticate = auth.authenticate

    def check_the_token_then_log_it_out_elsewhere():
        found = authenticate()
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM tokens WHERE user_id = :id"), {"id": ada.id})
        return found

    monkeypatch.setattr(auth, "authenticate", check_the_token_then_log_it_out_elsewhere)
    # The token is gone either way: a 204, and no SQLAlchemy warning (an error in this suite).
    assert client.post("/api/auth/logout", headers=ada.headers).status_code == 204
    assert count_rows() == rows(users=1)


def test_an_edit_of_a_post_deleted_just_after_its_commit_is_200(client, engine, ada):
    post = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers).json

    def delete_the_post(session):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM posts WHERE id = :id"), {"id": post["id"]})

    event.listen(Session.session_factory, "after_commit", delete_the_post, once=True)
    try:
        path = f"/api/posts/{post['id']}"
        response = client.patch(path, json={"title": "New"}, headers=ada.headers)
    finally:
        if event.contains(Session.session_factory, "after_commit", delete_the_post):
            event.remove(Session.session_factory, "after_commit", delete_the_post)
    assert response.status_code == 200, response.json
    assert response.json == {**post, "title": "New"}


def test_a_post_deleted_just_after_its_commit_is_still_a_201(client, engine, ada):
    # Its author deleted it (or their account) the moment it was written.
    def delete_the_posts(session):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM posts"))

    event.listen(Session.session_factory, "after_commit", delete_the_posts, once=True)
    try:
        response = client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    finally:
        if event.contains(Session.session_factory, "after_commit", delete_the_posts):
            event.remove(Session.session_factory, "after_commit", delete_the_posts)
    assert response.status_code == 201, response.json
    assert response.json == {
        "id": 1,
        "user_id": ada.id,
        "title": "T",
        "body": "B",
        "created_at": response.json["created_at"],
    }
    assert response.headers["Location"] == "/api/posts/1"


def test_an_account_deleted_just_after_its_commit_is_still_a_201(client, engine):
    # Its owner logged in and deleted it the moment it was written.
    def delete_the_users(session):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM users"))

    event.listen(Session.session_factory, "after_commit", delete_the_users, once=True)
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    try:
        response = client.post("/api/users", json=body)
    finally:
        if event.contains(Session.session_factory, "after_commit", delete_the_users):
            event.remove(Session.session_factory, "after_commit", delete_the_users)
    assert response.status_code == 201, response.json
    assert response.json == {"id": 1, "username": "ada", "email": "ada@example.com"}
    assert response.headers["Location"] == "/api/users/1"


# Only the failure a view expects becomes a 401 or a 409. Any other integrity
# error (here, a unique index the code does not know, as a newer release's
# migration could add) is the server's to fix: a logged 500, never "your account
# is gone" or "the name is taken".


def add_unique_index(engine, table: str, columns: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"CREATE UNIQUE INDEX uq_test ON {table} ({columns})"))


def test_a_post_that_breaks_another_constraint_is_a_500_not_a_401(
    client, engine, ada, count_rows, caplog
):
    add_unique_index(engine, "posts", "user_id, title")
    client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    before = count_rows()
    response = client.post("/api/posts", json={"title": "T", "body": "B2"}, headers=ada.headers)
    assert response.status_code == 500
    assert response.json["message"] != "The account no longer exists."
    assert "IntegrityError" in caplog.text  # logged for us, with its traceback
    assert count_rows() == before


def test_a_login_that_breaks_another_constraint_is_a_500_not_a_401(
    client, ada, count_rows, monkeypatch, caplog
):
    # The same token twice: its digest is unique, so the second INSERT fails.
    monkeypatch.setattr(auth.secrets, "token_urlsafe", lambda size: "A" * 43)
    login = {"username": "ada", "password": PASSWORD}
    assert client.post("/api/auth/login", json=login).status_code == 200
    before = count_rows()
    response = client.post("/api/auth/login", json=login)
    assert response.status_code == 500
    assert response.json["message"] != "Wrong username or password."
    assert "IntegrityError" in caplog.text
    assert count_rows() == before


def test_a_username_taken_mid_request_is_a_409(client, engine, count_rows, rows, monkeypatch):
    # The name was free when checked; another request takes it (in another case)
    # before this one's INSERT: the unique index on lower(username) decides.
    hash_password = users.hash_password

    def take_the_name_then_hash(password):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (username, email) VALUES ('ADA', 'x@y.z')"))
        return hash_password(password)

    monkeypatch.setattr(users, "hash_password", take_the_name_then_hash)
    body = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    response = client.post("/api/users", json=body)
    assert response.status_code == 409
    assert response.json["message"] == "The username 'ada' is taken."
    assert count_rows() == rows(users=1)  # the other request's ADA only


def test_an_account_that_breaks_another_constraint_is_a_500_not_a_409(
    client, register, engine, count_rows, caplog
):
    add_unique_index(engine, "users", "email")
    register("ada", email="shared@example.com")
    before = count_rows()
    body = {"username": "grace", "email": "shared@example.com", "password": PASSWORD}
    response = client.post("/api/users", json=body)
    assert response.status_code == 500
    assert "taken" not in response.json["message"]
    assert "IntegrityError" in caplog.text
    assert count_rows() == before
