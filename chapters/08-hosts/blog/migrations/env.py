"""Alembic runs this file for every command: it connects and runs the migrations.

``flask init-db`` and the tests hand over a connection (see blog/migrate.py).
The ``alembic`` command does not, so the app is built to read the database URL
from the same settings it uses: instance/config.py and FLASK_DATABASE_URL, which
may be in .env, as for the ``flask`` command.
"""

from logging.config import fileConfig

from alembic import context
from flask.cli import load_dotenv
from sqlalchemy import Connection

from blog import create_app, migrate, models  # noqa: F401  (models fill Base.metadata)
from blog.db import Base, Session

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # Autogenerate compares the models with the database through this.
        target_metadata=Base.metadata,
        # SQLite cannot alter or drop most columns and constraints in place.
        # Batch mode copies the table into a new one with the change instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    if config.config_file_name is not None:
        # Keep the app's loggers: the default would silence every logger made so far.
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    # .flaskenv and .env, as the `flask` command reads them: a FLASK_DATABASE_URL
    # kept in .env must name the same database for `alembic` as for `flask init-db`.
    load_dotenv()
    create_app()  # binds the session registry to the app's database
    engine = Session.get_bind()
    with (
        engine.connect() as connection,
        migrate.foreign_keys_off(connection),
        migrate.all_or_nothing(connection),
    ):
        run_migrations(connection)
    engine.dispose()
