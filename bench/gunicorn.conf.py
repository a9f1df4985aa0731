"""The one gunicorn configuration every benchmarked app runs with.

run.py passes it with ``-c``, so a chapter's own gunicorn.conf.py is not read,
and adds only ``--chdir``, ``--bind`` and (for the 4-worker rows) ``--workers``.
"""

# Sync workers, one request at a time each: gunicorn's default worker type.
worker_class = "sync"
workers = 2
# An access log line per request would measure the disk, not the app.
accesslog = None
loglevel = "warning"
# Each worker builds its own app (and its own connection pool) after the fork.
preload_app = False
