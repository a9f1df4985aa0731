"""The workers' entry point: ``celery -A blog.worker worker`` and ``celery -A blog.worker beat``.

The same app as gunicorn's, from the same FLASK_* settings: a job sees the
configuration and the database that a request sees. (celery looks for an
attribute named ``app`` before ``celery``: the Flask app must not take that name.)
"""

from blog import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
