"""The usual workaround: still one global app, with the views imported last."""

from flask import Flask

app = Flask(__name__)

from late_import_blog import views  # noqa: E402  (only works below `app = ...`)

__all__ = ["app", "views"]
