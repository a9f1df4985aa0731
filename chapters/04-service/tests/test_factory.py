"""Configuration comes in at run time; production refuses unsafe defaults."""

from sqlalchemy import inspect

from blog import create_app


def test_test_config_overrides_the_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url})
    assert app.testing
    assert app.config["DATABASE_URL"] == url
    app.extensions["blog.engine"].dispose()


def test_debug_is_off_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    app = create_app()
    assert not app.debug
    assert app.config["SECRET_KEY"] is None
    app.extensions["blog.engine"].dispose()


def test_environment_variables_configure_the_app(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("FLASK_DATABASE_URL", url)
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["DATABASE_URL"] == url
    assert app.config["SECRET_KEY"] == "from-the-environment"
    app.extensions["blog.engine"].dispose()


def test_default_database_is_a_file_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("FLASK_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"].endswith("blog.sqlite")
    assert app.instance_path in app.config["DATABASE_URL"]
    app.extensions["blog.engine"].dispose()


def test_the_factory_creates_no_tables(database_url):
    # Every gunicorn worker calls the factory. Tables come from `flask init-db`, once.
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    engine = app.extensions["blog.engine"]
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_the_token_lifetime_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("FLASK_TOKEN_LIFETIME", "3600")
    app = create_app()
    assert app.config["TOKEN_LIFETIME"] == 3600
    app.extensions["blog.engine"].dispose()
