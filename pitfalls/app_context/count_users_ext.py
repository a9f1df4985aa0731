"""Count the users with chapter 02's Flask-SQLAlchemy ``db``, from a plain script.

The pitfall: ``db.session`` only works inside an application context.
"""

from sqlalchemy import func, select

from blog.db import db
from blog.models import User

print("users:", db.session.scalar(select(func.count()).select_from(User)))
