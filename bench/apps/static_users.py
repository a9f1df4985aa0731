"""Bare Flask answering GET /users with a constant: the JSON cost without a database.

The list is what run.py seeds into every database, so the answer is byte for byte
the one the database apps give (run.py checks that before measuring).
"""

from flask import Flask

app = Flask(__name__)

USERS = [
    {"id": n, "username": f"reader{n:02d}", "email": f"reader{n:02d}@example.com"}
    for n in range(1, 21)
]


@app.get("/")
def index() -> str:
    return "Hello, World!"


@app.get("/users")
def list_users() -> list[dict]:
    return USERS
