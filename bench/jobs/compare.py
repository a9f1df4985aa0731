"""Compare job queues on one Redis: captures/jobs-compare.*.

    python -m bench.jobs.compare [--quick] [--variants celery/redis,rq/redis]

For each library, in rounds that rotate the order of the libraries, a worker
(one process doing one job at a time) is started by its own command line and:

- start: seconds from spawning the worker to its first job done, a job queued
  before the spawn;
- round trip: sequential jobs, each enqueued once the previous one is done,
  from enqueue to the job's own "done" popped by the client;
- throughput: many jobs that each increment a counter, from the first
  enqueue to the counter reaching their number; then the memory of the idle
  worker's processes (PSS: pages a parent shares with its forked child count once);
- a killed worker: a job that runs until killed; the whole worker is
  SIGKILLed mid-job, a new worker starts at once, and the seconds until the job
  starts again are measured, with each library's settings for "at least once".

Every key lives under a prefix of this run (other runs share the Redis).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CAPTURE = ROOT / "captures" / "jobs-compare"
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("JOBS_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("JOBS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
RUN = f"jobsbench:{uuid.uuid4().hex[:12]}"
# Seconds after which a silent worker's job is handed out again (each library's knob).
TIMEOUT = 10


def digest() -> str:
    """One digest of every file the comparison runs: a capture names the code it measured."""
    sha = hashlib.sha256()
    for path in sorted(HERE.rglob("*")):
        if path.suffix in (".py", ".txt") and "__pycache__" not in path.parts:
            sha.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


class Library:
    """How to start a worker for one library and hand it jobs, on a queue of its own."""

    name = ""  # the distribution, for its version
    broker = REDIS_URL
    settings = ""  # what "at least once" takes, as shown in the capture
    killed = True  # measure a killed worker's job
    only_children = False  # kill the processes running jobs, not the whole worker
    patience = 240  # seconds to wait for a killed worker's job to start again
    late_ack = True

    def __init__(self, prefix: str, queue: str) -> None:
        self.prefix, self.queue = prefix, queue

    def command(self) -> list[str]:
        raise NotImplementedError

    def send(self, job: str, *args: str) -> None:
        raise NotImplementedError

    def clean(self) -> None:
        """Remove what the broker keeps outside of this run's Redis prefix."""


class CeleryRedis(Library):
    name = "celery"
    settings = (
        f"task_acks_late, task_reject_on_worker_lost, prefetch multiplier 1; "
        f"visibility_timeout {TIMEOUT} s, unacked restore every 1 s"
    )

    def __init__(self, prefix: str, queue: str) -> None:
        super().__init__(prefix, queue)
        from bench.jobs.celery_tasks import create_app

        self.app = create_app(prefix, queue, TIMEOUT, self.broker, self.late_ack)

    def command(self) -> list[str]:
        return [
            str(BIN / "celery"),
            "--app=bench.jobs.celery_tasks",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            f"--queues={self.queue}",
            "--loglevel=WARNING",
        ]

    def send(self, job: str, *args: str) -> None:
        self.app.send_task(job, args=list(args), queue=self.queue)


class CeleryRabbit(CeleryRedis):
    broker = AMQP_URL
    settings = "task_acks_late, task_reject_on_worker_lost, prefetch multiplier 1"

    def clean(self) -> None:
        with self.app.connection_for_write() as connection:
            channel = connection.default_channel
            channel.queue_delete(self.queue)
            channel.exchange_delete(self.queue)


class CeleryRedisEarly(CeleryRedis):
    """Celery's defaults: a job is acknowledged as a pool process takes it, before it runs."""

    late_ack = False
    settings = (
        "task_acks_late and task_reject_on_worker_lost off (the defaults), prefetch "
        f"multiplier 1; visibility_timeout {TIMEOUT} s; waited {6 * TIMEOUT} s"
    )
    patience = 6 * TIMEOUT


class CeleryRedisChild(CeleryRedis):
    """The pool process dies (the kernel's OOM killer, a crash), the main process lives."""

    only_children = True


class DramatiqRedis(Library):
    name = "dramatiq"
    settings = (
        f"acknowledged after the job (the default); heartbeat_timeout {TIMEOUT} s, "
        "maintenance on every command (default: 1 in 1,000)"
    )

    def __init__(self, prefix: str, queue: str) -> None:
        super().__init__(prefix, queue)
        from bench.jobs.dramatiq_tasks import create_broker

        self.dramatiq_broker = create_broker(prefix, TIMEOUT, self.broker)
        self.dramatiq_broker.declare_queue(queue)

    def command(self) -> list[str]:
        return [
            str(BIN / "dramatiq"),
            "bench.jobs.dramatiq_tasks",
            "--processes=1",
            "--threads=1",
            f"--queues={self.queue}",
        ]

    def send(self, job: str, *args: str) -> None:
        import dramatiq

        message = dramatiq.Message(
            queue_name=self.queue, actor_name=job, args=args, kwargs={}, options={}
        )
        self.dramatiq_broker.enqueue(message)


class DramatiqRabbit(DramatiqRedis):
    broker = AMQP_URL
    settings = "acknowledged after the job (the default)"

    def clean(self) -> None:
        from dramatiq.common import dq_name, xq_name

        channel = self.dramatiq_broker.channel  # type: ignore[attr-defined]
        for name in (self.queue, dq_name(self.queue), xq_name(self.queue)):
            channel.queue_delete(name)
        self.dramatiq_broker.close()


class RQFork(Library):
    name = "rq"
    settings = (
        "Retry(max=1) on the job; --job-monitoring-interval 10 (a started job's entry "
        "lives 70 s, the interval + 60, past its last heartbeat), --maintenance-interval 1, "
        "--worker-ttl 16"
    )
    worker_class = "rq.worker.Worker"

    def __init__(self, prefix: str, queue: str) -> None:
        super().__init__(prefix, queue)
        import redis
        from rq import Queue

        self.rq_queue = Queue(queue, connection=redis.Redis.from_url(REDIS_URL))

    def command(self) -> list[str]:
        return [
            str(BIN / "rq"),
            "worker",
            f"--url={REDIS_URL}",
            f"--worker-class={self.worker_class}",
            f"--job-monitoring-interval={TIMEOUT}",
            "--maintenance-interval=1",  # look for abandoned jobs every second...
            "--worker-ttl=16",  # ...and wake up to do it (dequeue timeout: ttl - 15 s)
            "--quiet",
            self.queue,
        ]

    def send(self, job: str, *args: str) -> None:
        from rq import Retry

        # Only a job with retries left is run again after its worker died.
        retry = Retry(max=1) if job == "slow" else None
        self.rq_queue.enqueue(f"bench.jobs.rq_tasks.{job}", *args, retry=retry)


class RQSimple(RQFork):
    """RQ without a fork per job: its docs offer it for tests and platforms without fork."""

    worker_class = "rq.worker.SimpleWorker"
    settings = "not measured"
    killed = False


# Rows of the tables: (library, broker) -> how to run it.
VARIANTS: dict[str, type[Library]] = {
    "celery/redis": CeleryRedis,
    "celery (pool process killed)/redis": CeleryRedisChild,
    "celery (acks_late off)/redis": CeleryRedisEarly,
    "dramatiq/redis": DramatiqRedis,
    "rq/redis": RQFork,
    "rq SimpleWorker/redis": RQSimple,
    "celery/rabbitmq": CeleryRabbit,
    "dramatiq/rabbitmq": DramatiqRabbit,
}


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


def spawn(library: Library, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JOBS_REDIS_URL": REDIS_URL,
        "JOBS_BROKER_URL": library.broker,
        "JOBS_PREFIX": library.prefix,
        "JOBS_QUEUE": library.queue,
        "JOBS_TIMEOUT": str(TIMEOUT),
        "JOBS_LATE_ACK": "1" if library.late_ack else "0",
    }
    # A session of its own: the whole worker, forked children included, is one group.
    return subprocess.Popen(
        library.command(), cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()  # the main process; it stops its own children
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def tree(pid: int) -> list[int]:
    """The process and its descendants (those that exist while they are listed)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                pids += tree(int(child))
    except (FileNotFoundError, ProcessLookupError):
        return []
    return sorted(pids)


def pss_mb(pid: int) -> tuple[float, int]:
    """Proportional set size of a process tree in MB, and how many processes it has.

    Read until two readings half a second apart find the same processes: a worker
    that forks per job (RQ) may still be reaping the last job's process.
    """
    deadline = time.monotonic() + 30
    previous: list[int] = []
    while True:
        pids = tree(pid)
        if pids and pids == previous:
            try:
                total_kb = sum(
                    int(line.split()[1])
                    for each in pids
                    for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines()
                    if line.startswith("Pss:")
                )
                return round(total_kb / 1024, 1), len(pids)
            except (FileNotFoundError, ProcessLookupError):
                pass  # a process of the previous reading is gone: read again
        if time.monotonic() > deadline:
            raise SystemExit(f"the processes of worker {pid} did not settle")
        previous = pids
        time.sleep(0.5)


def pop(client: Any, key: str, timeout: float, worker: subprocess.Popen[bytes]) -> str:
    """The next item of a list, waiting at most `timeout` seconds."""
    answer = client.blpop([key], timeout=timeout)
    if answer is None:
        state = "exited" if worker.poll() is not None else "running"
        raise SystemExit(f"no {key!r} within {timeout} s (worker {state})")
    return answer[1].decode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def one_round(name: str, jobs: int, trips: int, log: Any) -> dict[str, Any]:
    prefix = f"{RUN}:{name}:{uuid.uuid4().hex[:8]}"
    library = VARIANTS[name](prefix, f"q-{uuid.uuid4().hex[:12]}")
    client = redis_client()
    done = f"{prefix}:done"
    result: dict[str, Any] = {}

    library.send("touch", "first")
    start = time.perf_counter()
    worker = spawn(library, log)
    try:
        assert pop(client, done, 120, worker) == "first"
        result["start_s"] = round(time.perf_counter() - start, 2)

        times = []
        for number in range(trips):
            token = f"trip-{number}"
            sent = time.perf_counter()
            library.send("touch", token)
            assert pop(client, done, 60, worker) == token
            times.append((time.perf_counter() - sent) * 1000)
        result["trip_p50_ms"] = round(percentile(times, 0.50), 2)
        result["trip_p95_ms"] = round(percentile(times, 0.95), 2)

        counter = f"{prefix}:count"
        sent = time.perf_counter()
        for _ in range(jobs):
            library.send("count")
        result["enqueue_s"] = round(time.perf_counter() - sent, 2)
        deadline = time.monotonic() + 900
        while int(client.get(counter) or 0) < jobs:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"{name}: {client.get(counter)} of {jobs} jobs done")
            time.sleep(0.01)
        result["jobs_per_s"] = round(jobs / (time.perf_counter() - sent), 1)
        result["idle_pss_mb"], result["processes"] = pss_mb(worker.pid)

        if not library.killed:
            result["rerun_s"] = result["runs"] = None
            return result
        library.send("slow", "victim")
        assert pop(client, f"{prefix}:started", 60, worker) == "victim"
        if library.only_children:
            for child in [each for each in tree(worker.pid) if each != worker.pid]:
                os.kill(child, signal.SIGKILL)
            killed = time.perf_counter()
        else:
            os.killpg(worker.pid, signal.SIGKILL)
            killed = time.perf_counter()
            worker.wait()
            worker = spawn(library, log)
        answer = client.blpop([f"{prefix}:started"], timeout=library.patience)
        if answer is None:
            result["rerun_s"] = None
        else:
            result["rerun_s"] = round(time.perf_counter() - killed, 1)
            assert pop(client, done, 60, worker) == "victim"
        result["runs"] = int(client.get(f"{prefix}:runs:victim") or 0)
    finally:
        stop(worker)
        library.clean()
        for stale in client.scan_iter(f"{prefix}:*"):
            client.delete(stale)
    return result


def defaults() -> dict[str, Any]:
    """What each library does for a killed worker's job unless told otherwise."""
    from celery import Celery
    from dramatiq.brokers import redis as dramatiq_redis
    from kombu.transport.redis import Channel
    from rq import defaults as rq_defaults

    conf = Celery().conf
    return {
        "celery task_acks_late": conf.task_acks_late,
        "celery task_reject_on_worker_lost": bool(conf.task_reject_on_worker_lost),
        "celery worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
        "kombu Redis visibility_timeout, s": Channel.visibility_timeout,
        "kombu Redis restore sweep, s": Channel.unacked_restore_interval
        * Channel.unacked_restore_throttle,
        "dramatiq Redis heartbeat_timeout, s": dramatiq_redis.DEFAULT_HEARTBEAT_TIMEOUT / 1000,
        "dramatiq Redis maintenance, commands in a million": (
            dramatiq_redis.DEFAULT_MAINTENANCE_CHANCE
        ),
        "rq job monitoring interval, s": rq_defaults.DEFAULT_JOB_MONITORING_INTERVAL,
        "rq maintenance interval, s": rq_defaults.DEFAULT_MAINTENANCE_TASK_INTERVAL,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):g} [{min(values):g}–{max(values):g}]"


def version(variant: str) -> str:
    library, broker = variant.split("/")
    name = VARIANTS[variant].name
    return f"{library.replace(name, f'{name} {metadata.version(name)}')}, {broker}"


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "| library | start to first job, s | idle worker after the jobs, PSS MB (processes) | "
        "round trip p50, ms | round trip p95, ms | jobs/s |",
        "|---|---|---|---|---|---|",
    ]
    for row in data["libraries"].values():
        rounds = row["rounds"]

        def cell(field: str, rounds: list[dict[str, Any]] = rounds) -> str:
            return spread([r[field] for r in rounds])

        processes = sorted({r["processes"] for r in rounds})
        lines.append(
            f"| {row['version']} | {cell('start_s')} | {cell('idle_pss_mb')} "
            f"({', '.join(map(str, processes))}) | {cell('trip_p50_ms')} | "
            f"{cell('trip_p95_ms')} | {cell('jobs_per_s')} |"
        )
    lines += [
        "",
        "| library | worker killed mid-job: job run again | seconds from kill to re-run | "
        "settings |",
        "|---|---|---|---|",
    ]
    for row in data["libraries"].values():
        rounds = row["rounds"]
        if all(r["runs"] is None for r in rounds):
            lines.append(f"| {row['version']} | not measured | – | – |")
            continue
        again = [r["rerun_s"] for r in rounds if r["rerun_s"] is not None]
        lines.append(
            f"| {row['version']} | {len(again)} of {len(rounds)} rounds | "
            f"{spread(again) if again else '–'} | {row['settings']} |"
        )
    lines += [
        "",
        f"Run {data['when']} on Python {data['python']}, Redis {data['redis']}, "
        f"{data['cpus']} CPUs shared with other work: {data['rounds']} rounds, libraries "
        "rotated each round, each round a new worker (one process doing one job at a time); "
        "median [min–max] over the rounds. Round trip: "
        f"{data['trips']} sequential jobs; throughput: {data['jobs']} counter increments "
        "from the first enqueue to the last done. Killed: SIGKILL to every process of the "
        "worker and a new worker started at once, or, where the row says so, to the pool "
        "process alone. Code digest "
        f"{data['digest'][:12]}.",
        "",
        "Defaults of the releases measured: "
        + "; ".join(f"{name} {value}" for name, value in data["defaults"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="one small round, no capture")
    args = parser.parse_args()
    names = args.variants.split(",")
    # RQ reads its key prefix once, when it is imported: set it for the whole run first.
    os.environ["RQ_KEY_PREFIX"] = f"{RUN}:rq"
    rounds, jobs, trips = (1, 200, 50) if args.quick else (3, 2000, 200)
    client = redis_client()
    data: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": ".".join(map(str, sys.version_info[:3])),
        "redis": client.info("server")["redis_version"],
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "jobs": jobs,
        "trips": trips,
        "timeout_s": TIMEOUT,
        "digest": digest(),
        "defaults": defaults(),
        "libraries": {
            name: {"version": version(name), "settings": VARIANTS[name].settings, "rounds": []}
            for name in names
        },
    }
    log_path = ROOT / ".nox" / "jobs-compare-workers.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("w") as log:
        for number in range(rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                print(f"round {number + 1}: {name}", flush=True)
                numbers = one_round(name, jobs, trips, log)
                print(f"  {numbers}", flush=True)
                data["libraries"][name]["rounds"].append(numbers)
    for stale in client.scan_iter(f"{RUN}:*"):
        client.delete(stale)
    text = markdown(data)
    print(text)
    if not args.quick:
        CAPTURE.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
        CAPTURE.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
