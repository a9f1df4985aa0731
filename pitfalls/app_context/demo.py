"""Demonstration: chapter 02's session needs an app context; chapter 03's does not.

Every script reads the same kind of database: three users, made by chapter 03's
``init-db`` and ``seed`` (both chapters define the same tables).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pitfalls.support import CHAPTERS, environment, main, run, scratch, terminal

HERE = Path(__file__).parent


@contextmanager
def seeded_database() -> Iterator[str]:
    with scratch() as tmp:
        url = f"sqlite:///{tmp / 'blog.sqlite'}"
        env = environment(FLASK_DATABASE_URL=url)
        for command in ("init-db", "seed"):
            done = run(["flask", "--app", "blog", command], cwd=CHAPTERS["03"], env=env, echo=False)
            done.check_returncode()
        print("# a database with 3 users, made by chapter 03's `flask init-db` and `flask seed`")
        yield url


def extension() -> None:
    with seeded_database():
        env = terminal(HERE, "02")
        run(["python", "count_users_ext.py"], cwd=HERE, env=env, frames=False)


def extension_with_app() -> None:
    with seeded_database() as url:
        env = terminal(HERE, "02", FLASK_DATABASE_URL=url)
        run(["python", "count_users_ext_app.py"], cwd=HERE, env=env)


def plain() -> None:
    with seeded_database() as url:
        env = terminal(HERE, "03")
        run(["python", "count_users_plain.py", url], cwd=HERE, env=env)


if __name__ == "__main__":
    main(extension=extension, extension_with_app=extension_with_app, plain=plain)
