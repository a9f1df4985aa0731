"""Production settings for gunicorn, which reads this file when started in this folder.

    FLASK_SECRET_KEY=... FLASK_DATABASE_URL=... gunicorn

A command-line option wins over this file, e.g. ``gunicorn --workers 4``.
"""

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import NoReturn

# What to serve: blog/wsgi.py calls create_app() and refuses unsafe settings.
wsgi_app = "blog.wsgi:app"

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


def on_starting(server) -> None:
    """Run blog/wsgi.py's start check once, before gunicorn starts any worker.

    Each worker runs it again when it imports the app; a refusal there prints a
    traceback per worker. Here it stops gunicorn with the message alone (gunicorn
    prints a RuntimeError from a hook as "Error: ..." and exits with status 1).
    The check runs in a child process, so the master imports none of the app and
    every worker still builds its own.
    """
    # A database server that never answers would otherwise hold the start silently.
    wait = 30
    try:
        check = subprocess.run(
            [sys.executable, "-m", "blog.wsgi"], capture_output=True, text=True, timeout=wait
        )
    except subprocess.TimeoutExpired:
        stop(server, f"The start check (python -m blog.wsgi) took over {wait} s.")
    if check.returncode != 0:
        stop(server, check.stderr.strip())
