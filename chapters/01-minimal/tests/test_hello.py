"""hello.py: the smallest app answers."""

import hello
import pytest


@pytest.mark.smoke
def test_hello_world():
    response = hello.app.test_client().get("/")
    assert response.status_code == 200
    assert response.data == b"Hello, World!"
