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

# Forwarded headers. The scheme headers (X-Forwarded-Proto and the like) are
# trusted only from a proxy on this machine, gunicorn's default made explicit.
# The app is served at the root, so SCRIPT_NAME and PATH_INFO headers are
# trusted from no one: they would move the URLs the app builds.
forwarded_allow_ips = "127.0.0.1,::1"
forwarder_headers = ""
