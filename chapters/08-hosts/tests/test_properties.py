"""Generated bodies: whatever a client sends, no 5xx, and rows change only on 201."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Any JSON value, with some keys the API knows so that checks go deeper.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["'; DROP TABLE users; --", "1 OR 1=1", "ada@example.com"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
known_keys = st.sampled_from(["username", "email", "password", "title", "body"])
bodies = json_values | st.dictionaries(known_keys, json_values, max_size=4)
# Header values a client could send: printable ASCII, sometimes after a scheme.
header_values = st.from_regex(r"[\x20-\x7e]{0,60}", fullmatch=True)
authorizations = header_values | st.builds(
    "{} {}".format, st.sampled_from(["Bearer", "bearer", "Basic"]), header_values
)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def check(client, count_rows, path, body, headers=None):
    before = count_rows()
    data = json.dumps(body)
    response = client.post(path, data=data, content_type="application/json", headers=headers)
    assert response.status_code < 500, response.json
    assert response.is_json
    if response.status_code == 201:
        assert count_rows() != before
    else:
        assert 400 <= response.status_code < 500
        assert count_rows() == before


@SETTINGS
@given(body=bodies)
def test_create_user_never_fails_on_the_server(client, count_rows, body):
    check(client, count_rows, "/api/users", body)


@SETTINGS
@given(body=bodies)
def test_create_post_never_fails_on_the_server(client, count_rows, ada, body):
    check(client, count_rows, "/api/posts", body, headers=ada.headers)


@SETTINGS
@given(body=bodies, post_id=st.integers(min_value=-5, max_value=2**70))
def test_edit_post_never_fails_on_the_server(client, ada, body, post_id):
    if client.get("/api/posts/1").status_code == 404:
        client.post("/api/posts", json={"title": "T", "body": "B"}, headers=ada.headers)
    before = client.get("/api/posts/1").json
    for path in [f"/api/posts/{post_id}", "/api/posts/1"]:
        response = client.patch(
            path, data=json.dumps(body), content_type="application/json", headers=ada.headers
        )
        assert response.status_code in (200, 400, 404, 413), response.json
        assert response.is_json
    if response.status_code != 200:
        assert client.get("/api/posts/1").json == before


@SETTINGS
@given(authorization=authorizations)
def test_any_authorization_header_is_a_401(client, count_rows, authorization):
    before = count_rows()
    body = {"title": "T", "body": "B"}
    response = client.post("/api/posts", json=body, headers={"Authorization": authorization})
    assert response.status_code == 401, response.json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count_rows() == before


@SETTINGS
@given(limit=header_values, after=header_values)
def test_any_page_parameters_are_a_page_or_a_400(client, limit, after):
    response = client.get("/api/users", query_string={"limit": limit, "after": after})
    assert response.status_code in (200, 400), response.json
    assert response.is_json
