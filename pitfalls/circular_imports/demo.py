"""Demonstration: a global app imported by its own views cannot be imported at all.

Importing the views last makes it work, and makes the order of lines load-bearing.
The factory layout of chapters 02 and 03 has no cycle: the blueprint module
imports without any app, and ``flask routes`` builds one with every route.
"""

from __future__ import annotations

from pathlib import Path

from pitfalls.support import CHAPTERS, main, run, scratch, terminal

HERE = Path(__file__).parent
WHAT_API_IMPORTS = (
    'import sys, blog.api; print(sorted(name for name in sys.modules if name.startswith("blog")))'
)


def naive() -> None:
    env = terminal(HERE)
    run(["python", "-c", "import naive_blog"], cwd=HERE, env=env)
    run(["flask", "--app", "naive_blog", "routes"], cwd=HERE, env=env)


def late_import() -> None:
    env = terminal(HERE)
    run(["python", "-c", "import late_import_blog"], cwd=HERE, env=env)
    run(["flask", "--app", "late_import_blog", "routes"], cwd=HERE, env=env)


def factory(chapter: str) -> None:
    with scratch() as tmp:
        cwd = CHAPTERS[chapter]
        env = terminal(cwd, FLASK_DATABASE_URL=f"sqlite:///{tmp / 'blog.sqlite'}")
        run(["python", "-c", WHAT_API_IMPORTS], cwd=cwd, env=env)
        run(["flask", "--app", "blog", "routes"], cwd=cwd, env=env)


if __name__ == "__main__":
    main(
        naive=naive,
        late_import=late_import,
        chapter_03=lambda: factory("03"),
        chapter_02=lambda: factory("02"),
    )
