"""The OpenAPI document describes every route, and asks for a token exactly where the code does."""

import re

import pytest

from blog import create_app
from conftest import PASSWORD

WRITES = {"post", "put", "patch", "delete"}
# The document as the app serves it. APIFlask writes it from the views alone:
# an app without a database writes the same one.
DOCUMENT = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).spec
BEARER = [{name: []} for name in DOCUMENT["components"]["securitySchemes"]]


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def url_of(path: str) -> str:
    """A real URL for a documented path: id 1 wherever an id goes."""
    return path.replace("{user_id}", "1").replace("{post_id}", "1")


def test_the_document_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json == DOCUMENT
    assert response.json["openapi"] == "3.1.0"


def test_every_route_is_in_the_document_and_nothing_else(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "openapi.spec") or rule.endpoint.startswith("health."):
            continue  # the health probes are for the platform, outside the API's document
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {(path, method) for path, method, _ in operations()}


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [pytest.param(*op, id=f"{op[1]} {op[0]}") for op in operations()],
)
def test_a_token_is_required_exactly_where_the_document_says(client, path, method, operation):
    secured = operation.get("security") == BEARER
    url = url_of(path)
    response = client.open(url, method=method.upper(), json={})
    assert (response.status_code == 401) == secured, response.json
    if secured:
        assert "401" in operation["responses"]


def test_every_write_needs_a_token_except_registering_logging_in_and_resetting():
    public_writes = {
        (path, method)
        for path, method, operation in operations()
        if method in WRITES and not operation.get("security")
    }
    assert public_writes == {
        ("/api/users", "post"),
        ("/api/auth/login", "post"),
        # A forgotten password: the client has no token, only the mail's.
        ("/api/auth/forgot", "post"),
        ("/api/auth/reset", "post"),
    }


# A body each operation accepts, so that the database is the first thing to fail.
VALID_BODIES = {
    ("/api/auth/login", "post"): {"username": "ada", "password": PASSWORD},
    ("/api/auth/forgot", "post"): {"email": "ada@example.com"},
    ("/api/auth/reset", "post"): {"token": "a" * 43, "password": PASSWORD},
    ("/api/users", "post"): {"username": "ada", "email": "ada@example.com", "password": PASSWORD},
    ("/api/posts", "post"): {"title": "T", "body": "B"},
    ("/api/posts/{post_id}", "patch"): {"title": "T"},
    ("/api/auth/password", "post"): {"current_password": PASSWORD, "new_password": PASSWORD},
    ("/api/users/{user_id}", "delete"): {"password": PASSWORD},
}


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [pytest.param(*op, id=f"{op[1]} {op[0]}") for op in operations()],
)
def test_every_operation_answers_the_documented_503_when_the_database_is_down(
    unavailable_client, path, method, operation
):
    url = url_of(path)
    response = unavailable_client.open(
        url,
        method=method.upper(),
        json=VALID_BODIES.get((path, method)),
        headers={"Authorization": "Bearer " + "a" * 43},  # well formed: it must be looked up
    )
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "1"
    assert "503" in operation["responses"]


def test_every_body_is_required_and_json():
    bodies = [op["requestBody"] for _, _, op in operations() if "requestBody" in op]
    # register, log in, change the password, forgot it, reset it, delete, write, edit
    assert len(bodies) == 8
    for body in bodies:
        assert body["required"] is True
        assert list(body["content"]) == ["application/json"]


def test_every_body_refuses_unknown_keys():
    for _, _, operation in operations():
        if "requestBody" in operation:
            schema = schema_of(operation["requestBody"]["content"]["application/json"]["schema"])
            assert schema["additionalProperties"] is False


def schema_of(ref):
    return DOCUMENT["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_ids_in_urls_are_bounded_as_the_database_stores_them():
    ids = [
        parameter
        for _, _, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert len(ids) == 6  # a user: read, delete, their posts; a post: read, edit, delete
    for parameter in ids:
        assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_the_document_states_the_rules_the_checks_apply():
    user = DOCUMENT["components"]["schemas"]["NewUser"]["properties"]
    assert user["username"]["maxLength"] == 80
    assert user["password"]["minLength"] == 15
    assert user["email"]["format"] == "email"
    post = DOCUMENT["components"]["schemas"]["NewPost"]["properties"]
    assert (post["title"]["maxLength"], post["body"]["maxLength"]) == (200, 10_000)


@pytest.mark.parametrize(
    ("email", "accepted"),
    [
        ("ada@example.com", True),
        ("ada@mail.example.org", True),
        ("ada@b.test", False),
        ("ada@B.TeSt", False),
        ("ada@in.localhost", False),
        ("ada@x.arpa", False),
        ("ada@b.onion", False),
    ],
)
def test_the_document_names_the_domains_the_address_check_refuses(client, email, accepted):
    # email-validator refuses special-use domains, which "format: email" allows:
    # the documented pattern refuses them too, so both agree.
    pattern = DOCUMENT["components"]["schemas"]["NewUser"]["properties"]["email"]["pattern"]
    assert bool(re.search(pattern, email)) == accepted
    body = {"username": "ada", "email": email, "password": PASSWORD}
    assert (client.post("/api/users", json=body).status_code == 201) == accepted


def test_every_link_leads_to_a_documented_operation():
    ids = {operation["operationId"] for _, _, operation in operations()}
    links = [
        link
        for _, _, operation in operations()
        for answer in operation["responses"].values()
        for link in answer.get("links", {}).values()
    ]
    assert (
        len(links) == 4
    )  # a new account to itself and its posts; a new post to itself and its edit
    assert {link["operationId"] for link in links} <= ids
