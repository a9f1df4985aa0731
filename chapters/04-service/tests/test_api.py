"""Every route, on the happy path."""


def create_user(client, username="ada", email="ada@example.com"):
    response = client.post("/users", json={"username": username, "email": email})
    assert response.status_code == 201, response.json
    return response.json


def test_index_says_the_app_is_up(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"The blog is up" in response.data
    assert b'href="/users"' in response.data


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


def test_create_and_list_posts(client):
    user = create_user(client)
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
    }
    assert client.get(f"/users/{user['id']}/posts").json == [post]


def test_posts_belong_to_their_user(client):
    ada = create_user(client)
    grace = create_user(client, "grace", "grace@example.com")
    client.post(f"/users/{ada['id']}/posts", json={"title": "A", "body": "by ada"})
    assert client.get(f"/users/{grace['id']}/posts").json == []
    assert len(client.get(f"/users/{ada['id']}/posts").json) == 1
