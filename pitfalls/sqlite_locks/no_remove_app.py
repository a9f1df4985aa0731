"""The pitfall: chapter 03's app, with ``Session.remove()`` doing nothing. Do not copy this one.

It is chapter 03 as if its teardown had never been written: every request's
session, with its transaction and its pool connection, stays with the thread
that served the request.
"""

from __future__ import annotations

from flask import Flask

from blog import create_app as create_blog_app
from blog.db import Session

# The mistake, made on purpose: nothing ever removes a thread's session.
Session.remove = lambda: None


def create_app() -> Flask:
    return create_blog_app()
