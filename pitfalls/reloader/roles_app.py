"""A tiny app that says which process builds it and which one answers.

Start it with ``flask --app roles_app run --debug``, request ``/``, then save a file.
"""

from __future__ import annotations

import os

from flask import Flask


def create_app() -> Flask:
    main = os.getenv("WERKZEUG_RUN_MAIN")
    print(
        f"create_app() in pid {os.getpid()} (parent pid {os.getppid()}), WERKZEUG_RUN_MAIN={main}"
    )
    app = Flask(__name__)

    @app.get("/")
    def which_process() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app
