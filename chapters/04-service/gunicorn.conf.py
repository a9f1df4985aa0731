"""Production settings for gunicorn, which reads this file when started in this folder.

    FLASK_SECRET_KEY=... FLASK_DATABASE_URL=... gunicorn

A command-line option wins over this file, e.g. ``gunicorn --workers 4``.
"""

import os

# What to serve: blog/wsgi.py calls create_app() and checks the secret key.
wsgi_app = "blog.wsgi:app"

# Sync workers serve one request at a time each. Two per core is a common
# start; measure before raising it. Hosting platforms often set WEB_CONCURRENCY.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

# No preloading: every worker imports the app and calls create_app() itself,
# so each has its own database connections. That is also why creating tables
# and seeding are CLI commands: in the factory they would run once per worker.
preload_app = False

# One line per request on stdout, for whatever collects the process output.
accesslog = "-"
