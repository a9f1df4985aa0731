"""Pitfall 4: a global app imported by its own views cannot be imported."""

import pytest

from pitfalls import run_demo

CYCLE = (
    "ImportError: cannot import name 'app' from partially initialized module 'naive_blog' "
    "(most likely due to a circular import)"
)


def test_the_global_app_layout_fails_to_import():
    out = run_demo("circular-imports-naive")
    assert out.count(CYCLE) == 2  # with python -c, and with flask --app
    assert "[exit status 1]" in out
    assert "Error: While importing 'naive_blog', an ImportError was raised" in out
    assert "[exit status 2]" in out


@pytest.mark.parametrize("chapter", ["02", "03"])
def test_the_factory_layout_imports_its_views_without_an_app(chapter):
    out = run_demo(f"circular-imports-chapter-{chapter}")
    # The blueprint module and what it needs; neither the CLI nor an app.
    assert "['blog', 'blog.api', 'blog.db', 'blog.models', 'blog.validation']" in out
    for endpoint in ("api.list_users", "api.create_user", "api.get_user", "api.create_post"):
        assert endpoint in out  # `flask routes` built the app and found every route
    assert "exit status" not in out
    assert "Error" not in out


def test_importing_the_views_last_hides_the_cycle():
    out = run_demo("circular-imports-late-import")
    assert "exit status" not in out
    assert "list_users  GET      /users" in out
