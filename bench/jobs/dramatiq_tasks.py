"""Dramatiq: actors on RabbitMQ, or on Redis with every key under this run's prefix."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.broker import Broker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from bench.jobs import work

QUEUE = os.environ.get("JOBS_QUEUE", "jobs")
TIMEOUT = int(os.environ.get("JOBS_TIMEOUT", "10"))
BROKER_URL = os.environ.get("JOBS_BROKER_URL", work.REDIS_URL)


def create_broker(prefix: str, timeout: int, url: str) -> Broker:
    if url.startswith("amqp"):
        # RabbitMQ takes a job back as soon as its consumer's connection drops.
        return RabbitmqBroker(url=url)
    # A dead worker's messages are requeued by the next maintenance after `timeout`
    # without a heartbeat. Maintenance runs on a random share of broker commands
    # (1,000 in a million by default); here on every one, so the delay is the timeout's.
    return RedisBroker(
        url=url,
        namespace=prefix,
        heartbeat_timeout=timeout * 1000,
        maintenance_chance=1_000_000,
    )


dramatiq.set_broker(create_broker(work.PREFIX, TIMEOUT, BROKER_URL))
# A killed job is re-delivered, not retried: no retries for a job that raises.
touch = dramatiq.actor(work.touch, queue_name=QUEUE, max_retries=0)
count = dramatiq.actor(work.count, queue_name=QUEUE, max_retries=0)
slow = dramatiq.actor(work.slow, queue_name=QUEUE, max_retries=0, time_limit=600_000)
