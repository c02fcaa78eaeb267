"""Alembic environment: runs against the connection trueup hands it (see trueup.store.db.migrate)."""

from alembic import context

from trueup.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
