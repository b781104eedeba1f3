"""Engine set-up for SQLite (embedded) and PostgreSQL (production, several workers).

Translates "cannot open / cannot reach the database" into :class:`StorageError`,
here and (through :func:`translates_errors`) in every public repository function, so
nothing above ``storage`` ever sees a SQLAlchemy or driver exception. Does not know
any table: that is the repository modules' job.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from monitor.errors import DataRefusedError, StorageError
from monitor.storage.migrate import upgrade

P = ParamSpec("P")
R = TypeVar("R")

# Runaway queries and forgotten transactions must not hold locks for ever.
_PG_OPTIONS = "-c statement_timeout=60000 -c idle_in_transaction_session_timeout=120000"


def create_database_engine(url: str) -> Engine:
    """An Engine for ``url`` with the settings `monitor` relies on."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"invalid database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, parsed.database)
        if backend == "postgresql":
            kwargs: dict[str, Any] = {
                "pool_pre_ping": True,
                "pool_size": 10,
                "max_overflow": 10,
                "pool_recycle": 1800,
            }
            if parsed.get_driver_name() == "psycopg":
                kwargs["connect_args"] = {"options": _PG_OPTIONS, "connect_timeout": 10}
            return create_engine(url, **kwargs)
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise StorageError(f"cannot use database {parsed.render_as_string()}: {exc}") from exc


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """Create the engine, check that the database answers, and bring the schema up."""
    engine = create_database_engine(url)
    try:
        if migrate:
            upgrade(engine)
        else:
            ping(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"database {redacted(url)} unavailable: {_short(exc)}") from exc
    return engine


def translates_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn driver errors (server gone, connection cut, timeout, refused write) into
    :class:`StorageError`, the one database failure the rest of `monitor` handles.

    Mistakes in our own SQL that SQLAlchemy catches before the driver (``ArgumentError``
    and friends) are bugs and pass through untouched.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (IntegrityError, DataError) as exc:
            raise DataRefusedError(
                f"the database refused the data in {func.__name__}: {_short(exc)}"
            ) from exc
        except (DBAPIError, PoolTimeout) as exc:
            raise StorageError(f"database error in {func.__name__}: {_short(exc)}") from exc

    return wrapper


@translates_errors
def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (
        str(orig or exc).strip().splitlines()[0][:300]
        if str(orig or exc).strip()
        else type(exc).__name__
    )


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` for a transaction that writes.

    SQLite has one writer at a time; a thread that finds the database locked sleeps in
    SQLite's busy handler (1, 2, 5 … 100 ms steps) and wakes late. Polling threads of
    one process therefore take turns on a Python lock first, so the next writer starts
    the moment the last one commits. PostgreSQL needs no such thing.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(engine, threading.RLock())
    with lock, engine.begin() as conn:
        yield conn
