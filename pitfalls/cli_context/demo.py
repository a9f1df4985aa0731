"""Demonstration: ``flask`` pushes an app context for a command; the test runner does not.

Chapter 02's ``init-db`` needs one (``db.engine`` lives in the app context).
It runs three ways: the real ``flask`` command, ``app.test_cli_runner().invoke()``
alone, and the same inside ``with app.app_context():``, as the chapters'
``flask_command`` fixture does.
"""

from __future__ import annotations

from blog import create_app
from pitfalls.support import CHAPTERS, main, run, scratch, terminal


def first_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0]}"


def commands() -> None:
    with scratch() as tmp:
        url = f"sqlite:///{tmp / 'blog.sqlite'}"
        env = terminal(CHAPTERS["02"], FLASK_DATABASE_URL=url)
        run(["flask", "--app", "blog", "init-db"], cwd=CHAPTERS["02"], env=env)

        print(">>> app = create_app({..., 'DATABASE_URL': url})")
        app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url})
        runner = app.test_cli_runner()
        print(">>> runner.invoke(args=['init-db'])")
        result = runner.invoke(args=["init-db"])
        outcome = first_line(result.exception) if result.exception else result.output.strip()
        print(f"exit code {result.exit_code}: {outcome}")

        print(">>> with app.app_context():")
        print("...     runner.invoke(args=['init-db'])")
        with app.app_context():
            result = runner.invoke(args=["init-db"])
        outcome = first_line(result.exception) if result.exception else result.output.strip()
        print(f"exit code {result.exit_code}: {outcome}")


if __name__ == "__main__":
    main(commands=commands)
