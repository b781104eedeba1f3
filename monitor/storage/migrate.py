"""Schema migrations: Alembic, driven from code (no alembic.ini to find).

Revisions live in ``monitor/storage/migrations/versions``; they are added, never
edited. Every command upgrades on start, so an operator never runs a stale schema.

An upgrade is one transaction, on SQLite too (its Python driver would otherwise commit
each CREATE TABLE on its own, and a kill in between left tables without a revision: a
database no later start could open). A database left that way by an older version
(our tables, no revision, every table empty) is repaired: the tables are dropped and
the schema made anew, in that same transaction. Tables holding rows are never dropped:
the error says what to do instead.

A database already at the newest revision costs one query and no Alembic: the head is
read from the revision files' ``revision``/``down_revision`` lines (:func:`head_revision`,
pinned to Alembic's own answer by tests/storage/test_migrate_cheap.py) and the stored
revision from ``alembic_version`` with plain SQL; Alembic is imported only to migrate.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError
from monitor.storage.revision import alembic_config, head_revision

__all__ = ["alembic_config", "current_revision", "head_revision", "schema_revision", "upgrade"]


def current_revision(engine: Engine) -> str | None:
    """The revision stored in ``alembic_version`` (None: no schema yet), by plain SQL."""
    with engine.connect() as conn:
        return _stored_revision(conn)


def _stored_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # branches: not ours, but let Alembic say what it is
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()
    return str(rows[0]) if rows else None


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet), for `monitor db upgrade`
    to say what it did; :class:`StorageError` when the database cannot be read."""
    try:
        return current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the schema revision: {exc}") from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction; a no-op when it is there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite opens transactions only before INSERT/UPDATE/DELETE: without an
            # explicit one, each DDL statement commits by itself. IMMEDIATE also makes a
            # second process starting at the same moment wait instead of racing.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            # Several workers starting at once: one migrates, the others wait.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7406351)")
        try:
            if _stored_revision(conn) is None:
                _drop_half_applied(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _drop_half_applied(conn: Connection) -> None:
    """Tables of ours without a revision: the first migration was cut short (by an
    older `monitor`). Empty, they are dropped to be made anew; with rows, refused."""
    from monitor.storage.models import Base

    ours = [t for t in reversed(Base.metadata.sorted_tables)]
    present = set(inspect(conn).get_table_names())
    found = [t for t in ours if t.name in present]
    if not found:
        return
    holding = [
        t.name
        for t in found
        if conn.execute(text(f'SELECT 1 FROM "{t.name}" LIMIT 1')).first() is not None
    ]
    if holding:
        raise StorageError(
            "the database has monitor's tables but no schema revision, and "
            f"{', '.join(holding)} hold rows: it was not made by `monitor db upgrade`. "
            "Nothing was changed. Point `database:` at a new file or an empty database "
            "(and keep this one for its data)"
        )
    for table in found:
        conn.exec_driver_sql(f'DROP TABLE "{table.name}"')
