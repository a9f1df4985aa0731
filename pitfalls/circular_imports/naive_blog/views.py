"""The views of the global-app layout: they need ``app`` for their decorators."""

# --8<-- [start:views]
from naive_blog import app


@app.get("/users")
def list_users() -> list[str]:
    return []


# --8<-- [end:views]
