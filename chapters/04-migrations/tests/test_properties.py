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
known_keys = st.sampled_from(["username", "email", "title", "body"])
bodies = json_values | st.dictionaries(known_keys, json_values, max_size=4)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def check(client, count_rows, path, body):
    before = count_rows()
    response = client.post(path, data=json.dumps(body), content_type="application/json")
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
    check(client, count_rows, "/users", body)


@SETTINGS
@given(body=bodies, user_id=st.integers(min_value=-5, max_value=2**70))
def test_create_post_never_fails_on_the_server(client, count_rows, body, user_id):
    if client.get("/users/1").status_code == 404:
        client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    check(client, count_rows, f"/users/{user_id}/posts", body)
    check(client, count_rows, "/users/1/posts", body)
