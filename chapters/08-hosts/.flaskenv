# Public development settings, read by `flask` when python-dotenv is installed.
# Secrets belong in .env (ignored by git) or in the real environment.
FLASK_APP=blog
