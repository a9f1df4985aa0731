"""The workers' entry point: ``celery -A blog.worker worker`` and ``celery -A blog.worker beat``.

The same app as gunicorn's, from the same FLASK_* settings: a job sees the
configuration and the database that a request sees.
"""

from blog import create_app

app = create_app()
celery = app.extensions["celery"]
