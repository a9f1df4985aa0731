"""The workers' entry point: ``celery -A blog.worker worker`` and ``celery -A blog.worker beat``.

The app is gunicorn's, built by blog/wsgi.py from the same FLASK_* settings
and refused on the same unsafe ones: a job sees the configuration and the
database that a request sees. celery looks for an attribute named ``app``
before one named ``celery``: here the Flask app is ``flask_app``.
"""

from blog.wsgi import app as flask_app

celery = flask_app.extensions["celery"]
