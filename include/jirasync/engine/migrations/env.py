"""Run the state store migrations on the connection StateStore.migrate() hands over.

The version table has its own name so the store can share a PostgreSQL database with
Airflow's metadata, which keeps its own `alembic_version`.
"""

from alembic import context

from jirasync.engine.store import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
