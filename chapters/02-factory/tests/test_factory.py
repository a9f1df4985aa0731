"""Configuration comes in at run time; production refuses unsafe defaults."""

import importlib
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from blog import create_app
from blog.db import db

CHAPTER = Path(__file__).resolve().parent.parent


def dispose(app):
    """Close the pooled connections of the app's engine."""
    with app.app_context():
        db.engine.dispose()


def test_test_config_overrides_the_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    assert app.testing
    assert app.config["DATABASE_URL"] == url
    dispose(app)


def test_debug_is_off_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    app = create_app()
    assert not app.debug
    assert app.config["SECRET_KEY"] is None
    dispose(app)


def test_environment_variables_configure_the_app(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("FLASK_DATABASE_URL", url)
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["DATABASE_URL"] == url
    assert app.config["SECRET_KEY"] == "from-the-environment"
    dispose(app)


def test_instance_config_file_configures_the_app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    dispose(app)
    Path(app.instance_path).mkdir()
    (Path(app.instance_path) / "config.py").write_text("SECRET_KEY = 'from-instance-config'\n")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-instance-config"
    dispose(app)


def test_the_environment_wins_over_the_instance_file(monkeypatch, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    dispose(app)
    Path(app.instance_path).mkdir()
    in_file, in_env = (f"sqlite:///{tmp_path / name}" for name in ("file.sqlite", "env.sqlite"))
    (Path(app.instance_path) / "config.py").write_text(f"DATABASE_URL = {in_file!r}\n")
    monkeypatch.setenv("FLASK_DATABASE_URL", in_env)
    app = create_app()
    assert app.config["DATABASE_URL"] == in_env
    dispose(app)


def test_default_database_is_a_private_file_in_the_instance_folder():
    app = create_app()
    instance = Path(app.instance_path)
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'blog.sqlite'}"
    # Tests get an instance folder of their own, never the checkout's.
    assert not instance.is_relative_to(CHAPTER)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    dispose(app)


def import_wsgi():
    sys.modules.pop("blog.wsgi", None)
    return importlib.import_module("blog.wsgi")


@pytest.mark.parametrize("key", [None, "", "1", "true", "short-key"])
def test_production_entry_point_refuses_to_start_without_a_secret(monkeypatch, tmp_path, key):
    # FLASK_SECRET_KEY=1 or =true would arrive as a number or a boolean.
    if key is not None:
        monkeypatch.setenv("FLASK_SECRET_KEY", key)
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        import_wsgi()


@pytest.mark.smoke
def test_production_entry_point_starts_with_a_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_SECRET_KEY", "a-real-secret-of-some-length")
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    wsgi = import_wsgi()
    assert wsgi.app.config["SECRET_KEY"] == "a-real-secret-of-some-length"
    assert not wsgi.app.debug
    dispose(wsgi.app)


def test_the_factory_creates_no_tables(database_url):
    # Every gunicorn worker calls the factory. Tables come from `flask init-db`, once.
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
    dispose(app)


def test_each_app_uses_its_own_database(tmp_path):
    """The extension keeps an engine per app: two apps in one process stay apart."""
    first = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    second = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}"})
    for app in (first, second):
        with app.app_context():
            db.create_all()
    client = first.test_client()
    response = client.post("/users", json={"username": "ada", "email": "ada@example.com"})
    assert response.status_code == 201
    user = response.json
    assert client.get("/users").json == [user]
    assert client.get(f"/users/{user['id']}").json == user
    assert second.test_client().get("/users").json == []
    dispose(first)
    dispose(second)
