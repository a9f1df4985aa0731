"""Pitfall 5: Flask-SQLAlchemy's session needs an app context; plain SQLAlchemy does not."""

from pitfalls import run_demo


def test_the_extension_session_fails_in_a_plain_script():
    out = run_demo("app-context-naive")
    assert "RuntimeError: Working outside of application context." in out
    assert "[exit status 1]" in out
    assert "users:" not in out


def test_the_extension_session_works_once_the_script_builds_the_app():
    out = run_demo("app-context-with-app")
    assert "users: 3" in out
    assert "Error" not in out


def test_chapter_03_session_works_from_a_script_without_flask_app():
    out = run_demo("app-context-chapter-03")
    assert "users: 3" in out
    assert "Error" not in out
