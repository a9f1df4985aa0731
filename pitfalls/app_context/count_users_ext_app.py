"""Count the users with chapter 02's ``db``: the script has to build the whole app first.

The database URL comes the app's way: ``FLASK_DATABASE_URL``.
"""

from sqlalchemy import func, select

from blog import create_app
from blog.db import db
from blog.models import User

app = create_app()  # config, extensions, blueprints, CLI: all of it
with app.app_context():
    print("users:", db.session.scalar(select(func.count()).select_from(User)))
