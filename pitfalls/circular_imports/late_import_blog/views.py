"""Same views as naive_blog: they need ``app`` for their decorators."""

from late_import_blog import app


@app.get("/users")
def list_users() -> list[str]:
    return []
