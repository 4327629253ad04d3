"""Alembic environment: runs on a connection handed in by adapters.database.upgrade."""

from alembic import context
from sqlalchemy import create_engine

from clientfolio.adapters.orm import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` used by hand
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
