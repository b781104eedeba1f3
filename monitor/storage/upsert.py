"""``INSERT … ON CONFLICT (keys) DO NOTHING`` for the dialects `monitor` runs on.

SQLite and PostgreSQL spell it the same way. SQLAlchemy's dialect-specific
``on_conflict_do_nothing()`` statements carry no cache key, so each execution would be
compiled again (a few hundred microseconds, on every poll that stores an article);
the textual statement built here is compiled once per process and its parameters
still go through each column's type (dates to UTC, JSON lists).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, text
from sqlalchemy.sql.elements import TextClause


def insert_ignore(table: Any, keys: Sequence[str], columns: Sequence[str]) -> TextClause:
    """An insert of ``columns`` that silently skips rows clashing on the unique ``keys``.

    Execute it with a dict (or a list of dicts, executemany) keyed by column name; its
    ``rowcount`` is the number of rows inserted.
    """
    return _statement(cast(Table, getattr(table, "__table__", table)), tuple(keys), tuple(columns))


@functools.cache
def _statement(table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> TextClause:
    unknown = [c for c in (*keys, *columns) if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    )
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))
