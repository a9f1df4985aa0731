"""Headers on every answer: what a browser may do with it, and which other sites may read it."""

import pytest

from blog import create_app
from conftest import PASSWORD

FRONT_END = "https://app.example.com"
PREFLIGHT = {
    "Origin": FRONT_END,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "Authorization, Content-Type",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/users/999"),  # an error
        ("POST", "/api/posts"),  # a 401
        ("DELETE", "/api/users"),  # a 405
        ("GET", "/nowhere"),
    ],
)
def test_every_answer_forbids_sniffing_scripts_and_frames(client, method, path):
    response = client.open(path, method=method)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert csp == "default-src 'none'; frame-ancestors 'none'"


def test_unexpected_errors_get_the_headers_too(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("blog.users.Session.get", explode)
    response = client.get("/api/users/1")
    assert response.status_code == 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_private_answers_are_not_stored_by_caches(client, ada):
    # The token, and an account's e-mail address: only its owner may see them.
    body = {"username": "grace", "email": "grace@example.com", "password": PASSWORD}
    private = [
        client.post("/api/auth/login", json={"username": "ada", "password": PASSWORD}),
        client.post("/api/users", json=body),
        client.get("/api/auth/me", headers=ada.headers),
    ]
    for response in private:
        assert response.status_code in (200, 201)
        assert response.headers["Cache-Control"] == "no-store"
    # Public answers may be cached.
    assert "Cache-Control" not in client.get(f"/api/users/{ada.id}").headers


def test_no_other_site_may_read_answers_by_default(client):
    response = client.get("/api/users", headers={"Origin": FRONT_END})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/posts", headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.fixture
def cors_client(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "CORS_ORIGINS": [FRONT_END]})
    return app.test_client()


def test_the_configured_front_end_may_read_answers(cors_client):
    response = cors_client.get("/api/openapi.json", headers={"Origin": FRONT_END})
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_the_configured_front_end_may_send_writes_after_a_preflight(cors_client):
    preflight = cors_client.options("/api/posts", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type"} <= {h.strip() for h in allowed.split(",")}
    # The token travels in a header the script sets: no cookie, no credentials.
    assert "Access-Control-Allow-Credentials" not in preflight.headers


def test_another_origin_still_may_not(cors_client):
    elsewhere = {**PREFLIGHT, "Origin": "https://evil.example.net"}
    preflight = cors_client.options("/api/posts", headers=elsewhere)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    response = cors_client.get("/api/openapi.json", headers={"Origin": elsewhere["Origin"]})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_origins_come_from_the_environment(monkeypatch, database_url):
    # As the README sets them: a JSON list in FLASK_CORS_ORIGINS.
    monkeypatch.setenv("FLASK_CORS_ORIGINS", f'["{FRONT_END}"]')
    monkeypatch.setenv("FLASK_DATABASE_URL", database_url)
    client = create_app().test_client()
    response = client.get("/api/openapi.json", headers={"Origin": FRONT_END})
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
