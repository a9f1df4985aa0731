"""Configuration comes in at run time; production refuses unsafe defaults."""

import importlib
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from blog import create_app
from blog.db import Base, Session
from conftest import PASSWORD

CHAPTER = Path(__file__).resolve().parent.parent


def dispose(app):
    """Close the pooled connections of the engine the app was bound to."""
    Session.remove()
    Session.get_bind().dispose()


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
    assert app.config["SECRET_KEY"] == "dev"  # the development key, which wsgi.py refuses
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
    (Path(app.instance_path) / "config.py").write_text("TOKEN_LIFETIME = 3600\n")
    app = create_app()
    assert app.config["TOKEN_LIFETIME"] == 3600
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


def test_the_factory_creates_no_tables(database_url):
    # Every gunicorn worker calls the factory. Tables come from `flask init-db`, once.
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    assert inspect(Session.get_bind()).get_table_names() == []
    dispose(app)


def test_a_process_serves_one_database(tmp_path):
    """The registry serves the database it was configured with last, to every app.

    So a second app in the same process moves the first one too, and what
    matters is that nothing reads a different database than the one it writes
    to: an app's list and its lookup always agree.
    """
    first = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"})
    first_engine = Session.get_bind()
    second = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite'}"})
    Base.metadata.create_all(Session.get_bind())
    client = first.test_client()
    account = {"username": "ada", "email": "ada@example.com", "password": PASSWORD}
    response = client.post("/api/users", json=account)
    assert response.status_code == 201
    user = {"id": response.json["id"], "username": "ada"}
    assert client.get("/api/users").json["items"] == [user]
    assert client.get(f"/api/users/{user['id']}").json == user
    assert second.test_client().get("/api/users").json["items"] == [user]
    assert Session.get_bind().url.database == str(tmp_path / "b.sqlite")
    first_engine.dispose()
    dispose(second)


def test_the_token_lifetime_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("FLASK_TOKEN_LIFETIME", "3600")
    app = create_app()
    assert app.config["TOKEN_LIFETIME"] == 3600
    dispose(app)
