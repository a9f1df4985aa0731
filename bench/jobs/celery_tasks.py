"""Celery: the settings chapter 08 uses for "at least once", on Redis or RabbitMQ."""

from __future__ import annotations

import os

from celery import Celery

from bench.jobs import work

QUEUE = os.environ.get("JOBS_QUEUE", "jobs")
TIMEOUT = int(os.environ.get("JOBS_TIMEOUT", "10"))
BROKER_URL = os.environ.get("JOBS_BROKER_URL", work.REDIS_URL)
# Off: Celery's own defaults, to see what they do with a killed worker's job.
LATE_ACK = os.environ.get("JOBS_LATE_ACK", "1") == "1"


def create_app(prefix: str, queue: str, timeout: int, broker: str, late: bool = True) -> Celery:
    app = Celery("jobsbench", broker=broker)
    app.conf.update(
        task_acks_late=late,  # acknowledge after the job, not as it starts
        task_reject_on_worker_lost=late,  # a job whose process died goes back to the queue
        worker_prefetch_multiplier=1,  # one job reserved beyond the running one at most
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
    )
    if broker.startswith("redis"):
        # RabbitMQ takes a job back when its consumer's connection drops; Redis has no
        # consumers to watch, so kombu keeps unacknowledged jobs aside, with a timeout.
        app.conf.broker_transport_options = {
            "global_keyprefix": f"{prefix}:",  # every key of this run, queues included
            # An unacknowledged job returns to the queue after this long...
            "visibility_timeout": timeout,
            # ...checked every second (by default about every 100 s).
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    return app


app = create_app(work.PREFIX, QUEUE, TIMEOUT, BROKER_URL, LATE_ACK)
touch = app.task(name="touch")(work.touch)
count = app.task(name="count")(work.count)
slow = app.task(name="slow")(work.slow)
