"""Settings and the production start: wsgi.py refuses what development tolerates."""

import importlib
import subprocess
import sys
from types import SimpleNamespace

import pytest

from blog import config, create_app, migrate
from blog.db import Session
from conftest import stamp_a_newer_revision


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


def test_refuses_debug_mode(production_env, app):
    production_env.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="Debug mode is on"):
        import_wsgi()


def test_refuses_the_development_database(production_env):
    # Without a URL the app would use instance/blog.sqlite, which a regular
    # install keeps inside the virtualenv.
    production_env.delenv("FLASK_DATABASE_URL")
    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        import_wsgi()


def test_names_an_unreachable_database_with_the_other_problems(production_env, tmp_path):
    production_env.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/folder.sqlite")
    production_env.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError) as refused:
        import_wsgi()
    assert "Debug mode is on" in str(refused.value)
    assert "The database does not answer: unable to open database file" in str(refused.value)


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
    import_wsgi()  # no refusal
    Session.get_bind().dispose()


def test_every_problem_is_named_at_once(production_env, empty_app):
    production_env.delenv("FLASK_SECRET_KEY")
    production_env.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError) as refused:
        import_wsgi()
    assert [line[:12] for line in str(refused.value).splitlines()[1:]] == [
        "- SECRET_KEY",
        "- Debug mode",
        "- The schema",
    ]


def test_python_m_blog_wsgi_runs_the_check_alone(production_env, app, tmp_path):
    # gunicorn.conf.py runs this in a child of gunicorn's master before any worker.
    check = [sys.executable, "-m", "blog.wsgi"]
    result = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    production_env.setenv("FLASK_DEBUG", "1")
    result = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == "Refusing to start:\n- Debug mode is on. Unset FLASK_DEBUG.\n"


def fake_app(tmp_path, instance_file: str):
    (tmp_path / "config.py").write_text(instance_file)
    return SimpleNamespace(instance_path=str(tmp_path))


def test_instance_file_holds_plain_settings(tmp_path):
    app = fake_app(tmp_path, 'LOG_FORMAT = "json"\nDATABASE_URL = "sqlite:////srv/b.sqlite"\n')
    settings = config.load_instance_file(app)
    assert settings["LOG_FORMAT"] == "json"
    assert settings["DATABASE_URL"] == "sqlite:////srv/b.sqlite"


@pytest.mark.parametrize(
    ("instance_file", "named"),
    [
        ('SECRET_KEY = "oops"\n', "SECRET_KEY"),
        ('DATABASE_URL = "postgresql://blog:hunter2@db/blog"\n', "DATABASE_URL with a password"),
    ],
)
def test_instance_file_may_not_hold_secrets(tmp_path, instance_file, named):
    app = fake_app(tmp_path, instance_file)
    with pytest.raises(RuntimeError, match=named) as refused:
        config.load_instance_file(app)
    assert "hunter2" not in str(refused.value)


def test_environment_wins_over_the_defaults(monkeypatch, database_url):
    monkeypatch.setenv("FLASK_DATABASE_URL", database_url)
    monkeypatch.setenv("FLASK_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FLASK_TRUSTED_PROXIES", "1")
    app = create_app()
    assert app.config["LOG_LEVEL"] == "WARNING"
    assert app.config["TRUSTED_PROXIES"] == 1  # read as the setting's type, a whole number
    Session.get_bind().dispose()
