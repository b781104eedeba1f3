"""``INSERT … ON CONFLICT DO NOTHING`` for the dialects `monitor` runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert


def insert_ignore(conn: Connection, table: Any, keys: Sequence[str]) -> Insert:
    """An insert that silently skips rows clashing on the unique ``keys``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    raise NotImplementedError(f"unsupported database dialect {conn.dialect.name}")
