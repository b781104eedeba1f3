"""Schema migrations: Alembic, driven from code (no alembic.ini to find).

Revisions live in ``monitor/storage/migrations/versions``; they are added, never
edited. Every command upgrades on start, so an operator never runs a stale schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StorageError

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet), for `monitor db upgrade`
    to say what it did; :class:`StorageError` when the database cannot be read."""
    try:
        return current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the schema revision: {exc}") from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several workers starting at once: one migrates, the others wait.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7406351)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
