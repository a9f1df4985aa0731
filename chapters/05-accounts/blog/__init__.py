"""The blog application: users and their posts, as a small JSON API."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build and configure a new app. Called once per process (and per test)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object("blog.config.Defaults")

    if test_config is None:
        # Deployment settings: instance/config.py, then FLASK_* variables,
        # e.g. FLASK_DATABASE_URL or FLASK_SECRET_KEY.
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)

    if not app.config["DATABASE_URL"]:
        # Only you may enter the folder that holds the data and instance/config.py.
        os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
        path = os.path.join(app.instance_path, "blog.sqlite")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"

    # Each module binds itself to this app; none of them imports the app.
    from blog import auth, cli, db, errors, posts, users, validation

    auth.init_app(app)
    db.init_app(app)
    cli.init_app(app)
    errors.init_app(app)
    app.url_map.converters["id"] = validation.IdConverter  # before the routes that use it
    # One blueprint per feature, all under one prefix: a proxy rule, a cache
    # rule or a second version of the API needs to know only "/api".
    for feature in (auth, users, posts):
        app.register_blueprint(feature.bp, url_prefix="/api")

    return app
