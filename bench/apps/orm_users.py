"""Chapter 03 plus a list route that builds an ORM object per row: a variant.

Served from the chapter folder (``--chdir``), so ``blog`` is chapter 03's package.
Only the extra route differs: GET /users-as-objects answers with the same JSON as
GET /users, through ``Session.scalars(select(User))`` and ``User.to_dict()``.
"""

from sqlalchemy import select

from blog import create_app
from blog.db import Session
from blog.models import User

app = create_app()


@app.get("/users-as-objects")
def list_users_as_objects() -> list[dict]:
    users = Session.scalars(select(User).order_by(User.id))
    return [user.to_dict() for user in users]
