"""Alembic environment: runs migrations on the connection `monitor` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from monitor.storage.models import Base

config = context.config
connection = config.attributes.get("connection")

if not isinstance(connection, Connection):  # pragma: no cover - only via monitor.storage
    raise RuntimeError("run migrations through monitor.storage.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
