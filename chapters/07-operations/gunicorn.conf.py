"""Production settings for gunicorn, which reads this file when started in this folder.

    FLASK_SECRET_KEY=... FLASK_DATABASE_URL=... gunicorn

A command-line option wins over this file, e.g. ``gunicorn --workers 4``.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import NoReturn

# What to serve: blog/wsgi.py calls create_app() and refuses unsafe settings.
wsgi_app = "blog.wsgi:app"

# No control socket. gunicorn 25.1+ opens one for `gunicornc` at
# ~/.gunicorn/gunicorn.ctl, one path for every gunicorn of the user: each new
# one unlinks the last one's. Nothing here uses it; signals (TERM, HUP) stop
# and reload gunicorn. With it off, gunicorn writes nothing in the home folder.
control_socket_disable = True

# Sync workers serve one request at a time each. Two per core is a common
# start; measure before raising it. Hosting platforms often set WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# No preloading: every worker imports the app and calls create_app() itself,
# so each has its own database connections. That is also why creating tables
# and seeding are CLI commands: in the factory they would run once per worker.
preload_app = False

# This runs behind a reverse proxy that buffers requests (nginx does by
# default): the proxy reads a slow client's request in full before passing it
# on. Without one, a client that sends half a request holds a sync worker until
# the worker is killed after `timeout` seconds of silence; two such clients
# hold both workers. 10 s (gunicorn's default is 30) bounds that, and is also
# the most any request may take here: these answer in milliseconds.
timeout = 10

# The app logs one line per request itself, with its request id (blog/logs.py).
accesslog = None

# FLASK_LOG_FORMAT=json: gunicorn's own lines (boot, signals, workers, the
# start check's refusal) become JSON lines too, with the app's fields and
# timestamps, so a collector parses stderr whole. The formatter lives here,
# not in blog/logs.py: the master imports none of the app.
JSON_LOGS = os.environ.get("FLASK_LOG_FORMAT") == "json"


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


JSON_LOGCONFIG = {
    "formatters": {"json": {"()": JSONFormatter}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    # Libraries' warnings (the rate limiter's, say) too. The app's own logger
    # writes its lines itself, so it must not pass them on to this handler.
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "propagate": False},
        "blog": {"propagate": False},
    },
}
# Empty: gunicorn's own text lines.
logconfig_dict = JSON_LOGCONFIG if JSON_LOGS else {}


def stop(server, message: str) -> NoReturn:
    """End the start with ``message``, before any worker boots.

    gunicorn prints a RuntimeError from a hook as "Error: ..." and exits with
    status 1. That text is no JSON line, so in JSON mode the message goes
    through gunicorn's log instead, and the exit is the same.
    """
    if JSON_LOGS:
        server.log.error(message)
        sys.exit(1)
    raise RuntimeError(message)


# Forwarded headers: gunicorn trusts none of them. X-Forwarded-For and -Proto
# are honoured by the app, for as many proxies as TRUSTED_PROXIES says
# (blog/proxy.py), not by gunicorn, which by default trusts them from
# 127.0.0.1. SCRIPT_NAME and PATH_INFO headers would move the URLs the app
# builds, so they are trusted from no one.
secure_scheme_headers = {}
forwarded_allow_ips = "127.0.0.1,::1"
forwarder_headers = ""


# Set in the master once its start check passed; every worker inherits it. A
# worker that finds the schema behind its code then serves instead of refusing
# (blog/wsgi.py): gunicorn halts the master when a worker fails to boot.
SERVER_CHECKED = "BLOG_SERVER_CHECKED"


def start_check() -> str | None:
    """Run blog/wsgi.py's start check in a child process: None, or why a server may not start.

    The child imports the code on disk now, so the master imports none of the
    app and every worker still builds its own.
    """
    # A database server that never answers would otherwise hold the start silently.
    wait = 30
    # The check itself must refuse a schema behind the code: drop the master's marker.
    env = {name: value for name, value in os.environ.items() if name != SERVER_CHECKED}
    # On a reload this runs in the master, whose SIGCHLD handler reaps any child
    # (gunicorn 23 at once): the check's status would be lost and read as 0, a
    # pass. Held until the check is over, the signal then finds nothing to reap.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        check = subprocess.run(
            [sys.executable, "-m", "blog.wsgi"],
            capture_output=True,
            text=True,
            timeout=wait,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return f"The start check (python -m blog.wsgi) took over {wait} s."
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return check.stderr.strip() if check.returncode != 0 else None


def on_starting(server) -> None:
    """Run the start check once, before gunicorn starts any worker.

    Each worker runs it again when it imports the app; a refusal there prints a
    traceback per worker. Here it stops gunicorn with the message alone.
    """
    problem = start_check()
    if problem:
        stop(server, problem)
    os.environ[SERVER_CHECKED] = "1"


# --- Deploys: a reload that would not start is refused; a stop drains first ---

# Seconds between a SIGTERM and the workers' stop, while /readyz answers 503 and
# everything else is still served: a load balancer probing every few seconds
# takes the server out of rotation before it stops accepting connections.
DRAIN_SECONDS = float(os.environ.get("DRAIN_SECONDS", "5"))
# A request in progress when the workers are told to stop may take this long to
# finish; none here may take longer than `timeout` anyway.
graceful_timeout = 10


def on_reload(server) -> None:
    """On SIGHUP, run the start check against the code now on disk, before any new worker.

    gunicorn forks the new workers, then stops the old ones without waiting for
    the new ones to be ready. With a migration not run yet, the new workers
    would serve the new code unready (BLOG_SERVER_CHECKED), and a worker that
    refused to start would halt the master. Here a refusal keeps the old
    workers serving the old code instead.
    """
    problem = start_check()
    if problem:
        # gunicorn spawns `workers` new workers after this hook; no hook can cancel
        # a reload otherwise. The count of workers to keep is read before this
        # hook, so the old ones stay, and the next reload reads the setting again.
        server.cfg.set("workers", 0)
        reason = " ".join(problem.split())  # one line
        server.log.error("Reload refused, the running workers keep serving. %s", reason)


def when_ready(server) -> None:
    """On SIGTERM, let /readyz answer 503 for DRAIN_SECONDS, then stop as gunicorn does."""
    stop = server.handle_term  # gunicorn calls handle_<signal> from its main loop

    def drain_then_stop() -> None:
        server.log.info(
            "Draining for %s s: /readyz answers 503, requests are served", DRAIN_SECONDS
        )
        server.kill_workers(DRAIN_SIGNAL)
        time.sleep(DRAIN_SECONDS)  # the master's loop waits: nothing else to do while stopping
        stop()

    server.handle_term = drain_then_stop


# Tells the workers that the server is stopping. Ignored by default, so a worker
# still starting is not killed by it; and nothing else sends it to this server.
DRAIN_SIGNAL = signal.SIGURG


def post_worker_init(worker) -> None:
    """The worker has imported the app: say so, and listen for drain_then_stop's signal."""
    stopping = {"blog.shutting_down": True}  # what /readyz reads (blog/health.py)
    signal.signal(DRAIN_SIGNAL, lambda *_: worker.wsgi.extensions.update(stopping))
    worker.log.info("Worker ready (pid: %s)", worker.pid)
