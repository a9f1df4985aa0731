"""The production entry point: ``gunicorn blog.wsgi:app``."""

from blog import create_app

app = create_app()

# A real server starts here, so a missing secret is an error, not a default.
if not app.config["SECRET_KEY"]:
    raise RuntimeError(
        "SECRET_KEY is not set. Export FLASK_SECRET_KEY before starting the "
        "server, e.g. FLASK_SECRET_KEY=$(python -c 'import secrets; "
        "print(secrets.token_hex())')."
    )
