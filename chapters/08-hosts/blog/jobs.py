"""The job queue: Celery, bound to the app, with Redis as its broker.

Every job runs inside an app context, as a request does: it reads
``current_app.config``, uses ``blog.db.Session``, and the session is removed
when the job ends (the app's teardown, blog/db.py).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


def init_app(app: Flask) -> Celery:
    """Make the Celery app for ``app``; jobs are ``@shared_task`` functions."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    # A worker imports the modules that define jobs as it starts.
    celery = Celery(app.name, task_cls=FlaskTask, include=["blog.reset", "blog.cleanup"])
    celery.conf.update(
        broker_url=app.config["BROKER_URL"],
        broker_transport_options={
            "global_keyprefix": app.config["BROKER_KEY_PREFIX"],
            "visibility_timeout": app.config["VISIBILITY_TIMEOUT"],
        },
        broker_connection_retry_on_startup=True,
        # A job leaves the queue when it has finished, not when a worker takes
        # it: a worker that dies mid-job leaves it for another. So a job may
        # run twice, and each one must be safe to repeat (blog/reset.py).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker reserves one job per pool process (one process per core
        # unless --concurrency says otherwise): none wait, unstarted, on a
        # worker that is busy (or about to die).
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # nobody waits for a result: no result backend
        beat_schedule={
            "delete-expired": {
                "task": "blog.cleanup.delete_expired_task",
                "schedule": app.config["CLEANUP_INTERVAL"],
            },
            "resend-unsent": {
                "task": "blog.reset.resend_unsent_task",
                "schedule": app.config["RESEND_INTERVAL"],
            },
        },
    )
    celery.set_default()  # the app that @shared_task jobs are sent with
    app.extensions["celery"] = celery
    return celery
