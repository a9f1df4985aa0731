"""Demonstration: ``FLASK_ENV`` no longer turns debug mode on; ``--debug`` and ``FLASK_DEBUG`` do.

Flask 2.3 removed ``FLASK_ENV``. The app here is chapter 03's, unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from pitfalls.support import CHAPTERS, DevServer, main, run, scratch, show, terminal

CWD = CHAPTERS["03"]
READ_DEBUG = (
    "from blog import create_app; app = create_app(); "
    'print("app.debug:", app.debug, "| ENV in app.config:", app.config.get("ENV"))'
)


def start(env: dict[str, str], log: Path, options: list[str], settings: dict[str, str]) -> None:
    """Start the dev server, print its banner and stop it."""
    command = ["flask", "--app", "blog", "run", *options]
    show(command, settings)
    with DevServer(command[1:], cwd=CWD, env={**env, **settings}, log=log) as server:
        server.wait_for(r"^ \* Running on")
        banner = re.findall(r"^ \* (?:Serving Flask app|Debug mode).*$", server.log(), re.M)
    print("\n".join(banner))


def old_way() -> None:
    with scratch() as tmp:
        env = terminal(CWD, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        start(env, tmp / "log", [], {"FLASK_ENV": "development"})
        run(["python", "-c", READ_DEBUG], cwd=CWD, env=env, shown={"FLASK_ENV": "development"})


def new_way() -> None:
    with scratch() as tmp:
        env = terminal(CWD, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        start(env, tmp / "log", ["--debug"], {})
        start(env, tmp / "log", [], {"FLASK_DEBUG": "1"})
        run(["python", "-c", READ_DEBUG], cwd=CWD, env=env, shown={"FLASK_DEBUG": "1"})


if __name__ == "__main__":
    main(old_way=old_way, new_way=new_way)
