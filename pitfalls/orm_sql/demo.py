"""Demonstration: the SQL that chapter 03 sends for each request, and for ``flask seed``.

The ORM writes SQL for you, sometimes where you would not expect a statement.
This prints every statement the engine executes under the action that caused
it. Run it with chapter 03's ``blog`` package on the path.
"""

from __future__ import annotations

from sqlalchemy import event

from blog import create_app
from blog.db import Base, Session
from pitfalls.support import main, scratch

REQUESTS = [
    ("POST", "/users", {"username": "ada", "email": "ada@example.com"}),
    ("POST", "/users/1/posts", {"title": "Hello", "body": "First post."}),
    ("GET", "/users/1/posts", None),
    ("GET", "/users", None),
]


def statements() -> None:
    with scratch() as tmp:
        url = f"sqlite:///{tmp / 'blog.sqlite'}"
        app = create_app({"TESTING": True, "SECRET_KEY": "demo", "DATABASE_URL": url})
        engine = Session.get_bind()  # the engine init_app bound the registry to
        Base.metadata.create_all(engine)
        sent: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def record(connection, cursor, statement, parameters, context, executemany):
            sent.append(f"  {' '.join(statement.split())}  {parameters}")

        client = app.test_client()
        for method, path, body in REQUESTS:
            sent.clear()
            response = client.open(path, method=method, json=body)
            print(f"{method} {path} -> {response.status_code}")
            print("\n".join(sent))

        sent.clear()
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["seed"])
        print("$ flask seed")
        print("\n".join(sent))
        print(result.output.rstrip())
        engine.dispose()


if __name__ == "__main__":
    main(statements=statements)
