"""The production entry point: ``gunicorn blog.wsgi:app``."""

from blog import create_app

app = create_app()

# A real server starts here, so a missing or weak secret is an error, not a
# default. FLASK_SECRET_KEY=1 or =true would arrive as a number or a boolean.
key = app.config["SECRET_KEY"]
if not isinstance(key, str) or len(key) < 16:
    raise RuntimeError(
        "SECRET_KEY is not set to a string of at least 16 characters. Export "
        "FLASK_SECRET_KEY before starting the server, e.g. FLASK_SECRET_KEY="
        "$(python -c 'import secrets; print(secrets.token_hex())')."
    )
