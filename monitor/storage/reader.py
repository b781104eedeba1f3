"""The read path: plain SQL on a DB-API connection, so a command that only reads (`monitor
alerts`, `monitor mutes`) can run without importing SQLAlchemy (~250 ms of CPU, most of
what such a command would spend).

:func:`open_reader` opens a SQLite file with the standard library's ``sqlite3`` when its
schema is current; anything else (PostgreSQL, a new or older file, an unusual URL) goes
through :func:`~monitor.storage.database.open_database` (SQLAlchemy, migrations) and
reads on that engine's DB-API connection: one SQL text serves both. Repository
functions that read take a :class:`Reader` or an Engine (:func:`reading`), so the daemon
and the console call them as before. Values come back as SQLAlchemy would give them:
times timezone-aware UTC, JSON decoded. It writes nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["Reader", "Row", "open_reader", "reading"]

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
# SQLAlchemy's storage format of DateTime on SQLite (naive UTC, microseconds always).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class Row(dict[str, Any]):
    """One result row: its columns by name, as attributes too (``row.seq``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Reader:
    """A DB-API connection that reads: ``:name`` parameters, times and JSON converted."""

    def __init__(
        self,
        connection: Any,
        dialect: str,
        errors: type[BaseException] | tuple[type[BaseException], ...],
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._conn = connection
        self.dialect = dialect
        self._errors = errors
        self._on_close = on_close

    def rows(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        *,
        times: Sequence[str] = (),
        jsons: Sequence[str] = (),
    ) -> list[Row]:
        """The rows of one SELECT; the columns named in ``times`` and ``jsons`` converted."""
        bound = {k: self._bind(v) for k, v in (params or {}).items()}
        if self.dialect != "sqlite":  # psycopg: %(name)s
            sql = _NAMED.sub(r"%(\1)s", sql)
        try:
            cursor = self._conn.cursor()
            try:
                cursor.execute(sql, bound)
                names = [d[0] for d in cursor.description]
                found = cursor.fetchall()
            finally:
                cursor.close()
            # No transaction left open: --follow reads for hours, and PostgreSQL ends
            # sessions idle in a transaction.
            self._conn.rollback()
        except self._errors as exc:
            raise StorageError(f"database error: {_short(exc)}") from exc
        result = []
        for values in found:
            row = Row(zip(names, values, strict=True))
            for name in times:
                row[name] = _time(row[name])
            for name in jsons:
                if isinstance(row[name], str | bytes):
                    row[name] = json.loads(row[name])
            result.append(row)
        return result

    def _bind(self, value: Any) -> Any:
        if isinstance(value, datetime) and self.dialect == "sqlite":
            utc = value.astimezone(UTC) if value.tzinfo else value
            return utc.strftime(_SQLITE_TIME)
        return value

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            if self._on_close is not None:
                self._on_close()


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def open_reader(url: str) -> Reader:
    """A :class:`Reader` of the database at ``url``, its schema brought up first (as
    :func:`~monitor.storage.database.open_database` does); close it when done (or use
    it as a context manager). :class:`StorageError` when it cannot be opened."""
    return _open_sqlite(url) or _open_engine(url)


def _open_sqlite(url: str) -> Reader | None:
    """A plain ``sqlite3`` reader of an existing file at the newest schema, else None."""
    conn = connect_current(url)
    return Reader(conn, "sqlite", sqlite3.Error) if conn is not None else None


def connect_current(url: str, **options: Any) -> sqlite3.Connection | None:
    """A ``sqlite3`` connection (``options`` for :func:`sqlite3.connect`) to the existing
    SQLite file at ``url`` when its schema is the newest; else None (PostgreSQL, a new
    or older file, an unusual URL: those go through SQLAlchemy and migrations)."""
    from monitor.config.dburl import parse_database_url
    from monitor.storage.revision import head_revision

    try:
        parsed = parse_database_url(url)
    except ValueError:
        return None
    path = parsed.database
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite") or parsed.query or parsed.host:
        return None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        # mode=rw: never create the file (a new database is migrated by the other path).
        conn: sqlite3.Connection = sqlite3.connect(
            f"file:{_uri_path(path)}?mode=rw", uri=True, timeout=30, **options
        )
    except sqlite3.Error:
        return None
    try:
        revisions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        revisions = []
    if [r[0] for r in revisions] != [head_revision()]:
        conn.close()
        return None
    return conn


def _uri_path(path: str) -> str:
    from pathlib import Path
    from urllib.parse import quote

    return quote(str(Path(path).expanduser().absolute()))


def _open_engine(url: str) -> Reader:
    from monitor.storage.database import open_database

    engine = open_database(url)
    try:
        return _engine_reader(engine, on_close=engine.dispose)
    except BaseException:
        engine.dispose()
        raise


def _engine_reader(engine: Engine, on_close: Callable[[], None] | None = None) -> Reader:
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    dbapi = engine.dialect.loaded_dbapi
    try:
        conn = engine.raw_connection()
    except (DBAPIError, SQLAlchemyError) as exc:
        raise StorageError(f"database error: {_short(exc)}") from exc
    return Reader(conn, engine.dialect.name, dbapi.Error, on_close)


@contextmanager
def reading(source: Reader | Engine) -> Iterator[Reader]:
    """``source`` as a Reader: itself, or a connection of the engine's pool for as long
    as the block lasts."""
    if isinstance(source, Reader):
        yield source
        return
    reader = _engine_reader(source)
    try:
        yield reader
    finally:
        reader.close()
