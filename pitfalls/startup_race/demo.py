"""Demonstration: two processes build the app at the same moment, as gunicorn's workers do.

The naive factory creates the tables itself, so on a new database both
processes find no table and both run ``CREATE TABLE``. Chapter 03's factory
creates nothing: ``flask init-db`` has run once, before the start.

Left alone, the two processes collide only when one looks for the tables
before the other has created them, which depends on timing (3 of 10 trials
in one run, none in another). So each process is held at that gap, after
``create_all()`` has listed the missing tables and before it creates them,
until the other one gets there too: the unlucky timing, every time.
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


def hold_at_the_gap(gap) -> None:  # noqa: ANN001 (a multiprocessing Barrier)
    """Make ``create_all()`` wait for the other process between its check and its CREATE."""
    from sqlalchemy import event

    from blog.db import Base

    @event.listens_for(Base.metadata, "before_create")
    def wait_for_the_other(target, connection, tables, **kw) -> None:  # noqa: ANN001
        if tables:  # it found tables to create: the other process must find them missing too
            gap.wait(timeout=30)


def build(factory: str, start, gap, results) -> None:  # noqa: ANN001 (multiprocessing objects)
    """One worker: wait for the other, then build the app; say how it went."""
    module = sys.modules[factory]  # imported before the fork
    hold_at_the_gap(gap)
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
    print("(create_all(), once it finds tables missing, waits for the other before creating them)")
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
            start, gap, queue = context.Barrier(WORKERS), context.Barrier(WORKERS), context.Queue()
            workers = [
                context.Process(target=build, args=(factory, start, gap, queue))
                for _ in range(WORKERS)
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
