"""Count the users with chapter 03's plain SQLAlchemy ``db.py``: no Flask app at all.

Usage: ``python count_users_plain.py DATABASE_URL``
"""

import sys

from sqlalchemy import func, select

from blog.db import Session, configure
from blog.models import User

configure(sys.argv[1])  # an engine for this URL; nothing else is set up
print("users:", Session.scalar(select(func.count()).select_from(User)))
Session.remove()
