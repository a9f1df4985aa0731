"""The real ``flask`` command pushes an app context for commands; the test runner does not."""

from pitfalls import run_demo


def test_the_test_runner_needs_the_app_context_the_flask_command_pushes():
    out = run_demo("cli-context")
    real, alone, inside = out.split(">>> ")[0], out.split(">>> ")[2], out.split(">>> ")[3]
    assert "$ flask --app blog init-db\nInitialized the database" in real
    assert "exit code 1: RuntimeError: Working outside of application context." in alone
    assert "exit code 0: Initialized the database" in inside
