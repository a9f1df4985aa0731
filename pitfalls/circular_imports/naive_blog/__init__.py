"""The pitfall: one global app that imports its views, which import the app. Do not copy."""

from flask import Flask

from naive_blog import views  # so that the routes get registered

app = Flask(__name__)

__all__ = ["app", "views"]
