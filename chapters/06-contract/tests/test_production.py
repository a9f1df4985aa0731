"""The production start: wsgi.py refuses a weak secret and a schema behind its code."""

import importlib
import subprocess
import sys

import pytest

from blog import migrate
from blog.db import Session
from conftest import NEWER_REVISION, stamp_a_newer_revision


@pytest.fixture
def production_env(monkeypatch, database_url):
    """Everything wsgi.py needs; each test then takes one thing away."""
    for name in ("FLASK_DEBUG", "FLASK_SECRET_KEY", "FLASK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLASK_SECRET_KEY", "a-real-secret-of-some-length")
    monkeypatch.setenv("FLASK_DATABASE_URL", database_url)
    return monkeypatch


def import_wsgi():
    sys.modules.pop("blog.wsgi", None)
    return importlib.import_module("blog.wsgi")


@pytest.mark.smoke
def test_production_starts_when_everything_is_set(production_env, app):
    wsgi = import_wsgi()
    assert wsgi.app.config["SECRET_KEY"] == "a-real-secret-of-some-length"
    assert not wsgi.app.debug
    Session.get_bind().dispose()


def test_the_start_check_leaves_no_connection_open(production_env, app):
    # gunicorn --preload imports this module once, then forks the workers: a
    # connection left in the pool would be shared by all of them.
    import_wsgi()
    assert Session.get_bind().pool.checkedin() == 0
    Session.get_bind().dispose()


def test_refuses_a_missing_secret_key(production_env, app):
    production_env.delenv("FLASK_SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        import_wsgi()


def test_refuses_a_schema_that_is_not_at_the_newest_revision(production_env, empty_app):
    with pytest.raises(RuntimeError, match="schema is at no revision"):
        import_wsgi()


def test_refuses_a_schema_one_revision_behind(production_env, app):
    migrate.downgrade(Session.get_bind(), "-1")
    with pytest.raises(RuntimeError, match="not at the newest revision"):
        import_wsgi()


def test_starts_on_a_schema_a_newer_release_migrated(production_env, app):
    # During a rolling deploy a worker of the old release may restart.
    stamp_a_newer_revision()
    assert NEWER_REVISION not in migrate.head_revisions()
    import_wsgi()  # no RuntimeError
    Session.get_bind().dispose()


def test_python_m_blog_wsgi_runs_the_check_alone(production_env, app, tmp_path):
    # gunicorn.conf.py runs this in a child of gunicorn's master before any worker.
    check = [sys.executable, "-m", "blog.wsgi"]
    result = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    production_env.setenv("FLASK_SECRET_KEY", "short")
    result = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Refusing to start: SECRET_KEY is not set")
    assert "Traceback" not in result.stderr
