"""Demonstration: two processes build the app at the same moment, as gunicorn's workers do.

The naive factory creates the tables itself, so on a new database both
processes find no table and both run ``CREATE TABLE``. Chapter 03's factory
creates nothing: ``flask init-db`` has run once, before the start.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # naive_app, next to this file

from pitfalls.support import main, scratch  # noqa: E402

TRIALS = 10
WORKERS = 2


def build(factory: str, start, results) -> None:  # noqa: ANN001 (multiprocessing objects)
    """One worker: wait for the other, then build the app; say how it went."""
    module = sys.modules[factory]  # imported before the fork
    start.wait()
    try:
        module.create_app()
    except Exception as error:
        kind = type(error)
        results.put(f"{kind.__module__}.{kind.__qualname__}: {str(error).splitlines()[0]}")
    else:
        results.put("ok")


def init_database() -> None:
    """``flask --app blog init-db``, run in this process (faster than a new one each time)."""
    from blog import create_app
    from blog.db import Session

    app = create_app()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    Session.remove()
    Session.get_bind().dispose()  # no connection crosses the fork


def trials(factory: str, init_db: bool) -> None:
    print(
        f"{TRIALS} times: a new database, {WORKERS} processes call {factory}.create_app() at once"
    )
    if init_db:
        print("(flask --app blog init-db runs first, once)")
    __import__(factory)
    outcomes: Counter[str] = Counter()
    failed = 0
    context = multiprocessing.get_context("fork")
    for _ in range(TRIALS):
        with scratch() as tmp:
            url = f"sqlite:///{tmp / 'blog.sqlite'}"
            os.environ["FLASK_DATABASE_URL"] = url
            if init_db:
                init_database()
            start, queue = context.Barrier(WORKERS), context.Queue()
            workers = [
                context.Process(target=build, args=(factory, start, queue)) for _ in range(WORKERS)
            ]
            for worker in workers:
                worker.start()
            results = [queue.get(timeout=60) for _ in workers]
            for worker in workers:
                worker.join()
            outcomes.update(results)
            failed += any(result != "ok" for result in results)
    print(f"{failed} of {TRIALS} trials had a failure")
    # Which table the two collide on first (users or posts) varies from run to run.
    kinds = {re.sub(r"table \w+ already", "table <name> already", o) for o in outcomes}
    print("outcomes:", *sorted(kinds), sep="\n  ")


if __name__ == "__main__":
    parts: dict[str, Callable[[], None]] = {
        "naive": lambda: trials("naive_app", init_db=False),
        "chapter": lambda: trials("blog", init_db=True),
    }
    main(**parts)
