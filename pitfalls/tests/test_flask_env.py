"""Pitfall 6: ``FLASK_ENV`` does nothing in Flask 3; ``--debug`` and ``FLASK_DEBUG`` do."""

from pitfalls import run_demo


def test_flask_env_leaves_debug_mode_off():
    out = run_demo("flask-env-naive")
    assert "$ FLASK_ENV=development flask --app blog run\n" in out
    assert " * Debug mode: off" in out
    assert " * Debug mode: on" not in out
    # from_prefixed_env() copies it into the config, where nothing reads it.
    assert "app.debug: False | ENV in app.config: development" in out


def test_the_debug_option_and_flask_debug_turn_it_on():
    out = run_demo("flask-env-debug")
    assert out.count(" * Debug mode: on") == 2
    assert " * Debug mode: off" not in out
    assert "app.debug: 1 |" in out  # from_prefixed_env() reads FLASK_DEBUG=1 as JSON: 1
