"""The views of the global-app layout: they need ``app`` for their decorators."""

from naive_blog import app


@app.get("/users")
def list_users() -> list[str]:
    return []
