"""The blog application: users and their posts, as a small JSON API."""

from __future__ import annotations

import os
from typing import Any

from apiflask import APIFlask

from blog import config


def create_app(test_config: dict[str, Any] | None = None) -> APIFlask:
    """Build and configure a new app. Called once per process (and per test)."""
    # APIFlask is Flask that also reads the views' contracts (blog/schemas.py):
    # it checks requests, shapes answers and serves the OpenAPI document.
    app = APIFlask(
        __name__,
        title="Blog API",
        version="7.0.0",
        spec_path="/api/openapi.json",
        docs_path=None,  # no interactive page: it would load scripts from elsewhere
        instance_relative_config=True,
    )
    # Every setting typed and checked before any module reads one: test_config,
    # else instance/config.py and FLASK_* variables (FLASK_DATABASE_URL, ...).
    app.config.update(config.load(app, test_config))

    if not app.config["DATABASE_URL"]:
        # Only you may enter the folder that holds the data and instance/config.py.
        os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
        app.config["DATABASE_URL"] = config.instance_database_url(app)

    # Each module binds itself to this app; none of them imports the app.
    from blog import (
        auth,
        cli,
        db,
        errors,
        headers,
        health,
        jobs,
        logs,
        openapi,
        posts,
        proxy,
        ratelimit,
        reset,
        users,
        validation,
    )

    logs.init_app(app)  # first, so every request gets its id before anything else runs
    proxy.init_app(app)
    db.init_app(app)
    cli.init_app(app)
    errors.init_app(app)
    ratelimit.init_app(app)
    openapi.init_app(app)
    headers.init_app(app)
    jobs.init_app(app)
    health.init_app(app)  # /healthz and /readyz, at the root: they are for the platform
    app.request_class = validation.JSONRequest
    app.url_map.converters["id"] = validation.IdConverter  # before the routes that use it
    # One blueprint per feature, all under one prefix: a proxy rule, a cache
    # rule or a second version of the API needs to know only "/api".
    for feature in (auth, reset, users, posts):
        app.register_blueprint(feature.bp, url_prefix="/api")

    return app
