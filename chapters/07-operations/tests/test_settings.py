"""One settings class: every setting typed and checked when the app is built."""

import hashlib
import subprocess
import sys

import pytest
from sqlalchemy import update

from blog import config, create_app
from blog.db import Session
from blog.models import Token

# In the order of the Settings class, which is the order of the problems.
BAD = {
    "FLASK_LOG_LEVEL": "verbose",
    "FLASK_LOG_FORMAT": "xml",
    "FLASK_TRUSTED_PROXIES": "one",
    "FLASK_RATELIMIT_PER_CLIENT": "lots",
    "FLASK_TOKEN_LIFETIME": "24h",
}


def dispose() -> None:
    Session.remove()
    Session.get_bind().dispose()


def test_every_bad_setting_is_named_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    for name, value in BAD.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(config.SettingsError) as refused:
        create_app()
    named = [problem.split(" ")[:2] for problem in refused.value.problems]
    assert named == [[name.removeprefix("FLASK_"), f"({name}):"] for name in BAD]


def test_the_start_check_prints_them_one_line_each(monkeypatch, tmp_path):
    env = {"FLASK_SECRET_KEY": "a-real-secret-of-some-length", **BAD}
    env["FLASK_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite'}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    check = [sys.executable, "-m", "blog.wsgi"]
    result = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (
        "Refusing to start:\n"
        "- LOG_LEVEL (FLASK_LOG_LEVEL): Input should be DEBUG, INFO, WARNING, ERROR or "
        "CRITICAL, not 'verbose'.\n"
        "- LOG_FORMAT (FLASK_LOG_FORMAT): Input should be 'text' or 'json', not 'xml'.\n"
        "- TRUSTED_PROXIES (FLASK_TRUSTED_PROXIES): Input should be a valid integer, "
        "unable to parse string as an integer, not 'one'.\n"
        "- RATELIMIT_PER_CLIENT (FLASK_RATELIMIT_PER_CLIENT): Input should be like "
        "'30 per minute' or '5/second; 100/day', not 'lots'.\n"
        "- TOKEN_LIFETIME (FLASK_TOKEN_LIFETIME): Input should be a valid integer, "
        "unable to parse string as an integer, not '24h'.\n"
    )


def test_a_secret_is_named_never_shown(monkeypatch):
    monkeypatch.setenv("FLASK_DATABASE_URL", "hunter2")
    with pytest.raises(config.SettingsError) as refused:
        create_app()
    assert refused.value.problems == [
        "DATABASE_URL (FLASK_DATABASE_URL): "
        "Input should be a URL such as sqlite:////srv/blog.sqlite."
    ]
    # Any string is a key, so only a test_config can give it a value that fails.
    with pytest.raises(config.SettingsError) as refused:
        create_app({"SECRET_KEY": 1234567890123456})
    assert refused.value.problems == [
        "SECRET_KEY (FLASK_SECRET_KEY): Input should be a valid string."
    ]


def test_values_arrive_as_their_types(monkeypatch, tmp_path):
    # A key made of digits stays a string; a level may be a number.
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("FLASK_SECRET_KEY", "1234567890123456")
    monkeypatch.setenv("FLASK_LOG_LEVEL", "30")
    monkeypatch.setenv("FLASK_CORS_ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("FLASK_RATELIMIT_SWALLOW_ERRORS", "false")
    app = create_app()
    assert app.config["SECRET_KEY"] == "1234567890123456"
    assert app.config["LOG_LEVEL"] == 30
    assert app.config["CORS_ORIGINS"] == ["https://app.example.com"]
    assert app.config["RATELIMIT_SWALLOW_ERRORS"] is False
    dispose()


def test_a_variable_that_names_no_setting_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("FLASK_RUN_PORT", "8001")  # the flask command's own
    app = create_app()
    assert "RUN_PORT" not in app.config
    dispose()


def test_the_instance_file_is_checked_too(tmp_path):
    instance = tmp_path / "instance"  # conftest's `isolated` puts it there
    instance.mkdir()
    (instance / "config.py").write_text('TOKEN_LIFETIME = "forever"\n')
    with pytest.raises(config.SettingsError, match="TOKEN_LIFETIME"):
        create_app()


def test_the_secret_key_keys_the_token_digests(app, ada, client):
    # A row written by someone without the key cannot stand for a token they know.
    with app.app_context():
        Session.execute(update(Token).values(digest=hashlib.sha256(ada.token.encode()).hexdigest()))
        Session.commit()
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 401


def test_a_new_secret_key_logs_everyone_out(app, ada, client):
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 200
    app.config["SECRET_KEY"] = "another-key-of-some-length"
    assert client.get("/api/auth/me", headers=ada.headers).status_code == 401
