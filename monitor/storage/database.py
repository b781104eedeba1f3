"""Engine set-up for SQLite (embedded) and PostgreSQL (production, several workers).

Translates "cannot open / cannot reach the database" into :class:`StorageError`,
here and (through :func:`translates_errors`) in every public repository function, so
nothing above ``storage`` ever sees a SQLAlchemy or driver exception. Does not know
any table: that is the repository modules' job.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
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
from monitor.storage.direct import (
    SQLITE_PRAGMAS,
    SQLITE_STATEMENTS,
    SQLITE_TIMEOUT,
)
from monitor.storage.migrate import current_revision, head_revision, upgrade

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
    # Each pooled connection keeps its last prepared statements; a query with an IN list
    # is a new statement for each length of the list, so 128 of them a connection (a few
    # KiB each) filled up over hours: the daemon grew by ~4 MiB in 150 ticks. The dozen
    # statements a poll repeats stay prepared in 32.
    engine = create_engine(
        url,
        connect_args={
            "timeout": SQLITE_TIMEOUT,
            "check_same_thread": False,
            "cached_statements": SQLITE_STATEMENTS,
        },
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
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


def upgrade_apart(url: str) -> None:
    """Bring the schema up in a child process, if it is not current: a daemon that
    migrates itself keeps Alembic and the migration scripts (~13 MiB) in memory for as
    long as it runs. The child logs to this process's stderr; its failure is a
    :class:`StorageError` with its message. A current schema costs one query."""
    engine = create_database_engine(url)
    try:
        if current_revision(engine) == head_revision():
            return
    except SQLAlchemyError as exc:
        raise StorageError(f"database {redacted(url)} unavailable: {_short(exc)}") from exc
    finally:
        engine.dispose()
    from monitor.log import logging_settings

    fmt, level = logging_settings()
    env = dict(os.environ)
    # The child must import the same code as this process, wherever it came from.
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    # The URL (it may hold a password) goes on stdin, never on a command line.
    done = subprocess.run(
        [sys.executable, "-c", "from monitor.storage.database import _upgrade_child as u; u()"],
        input=json.dumps({"url": url, "fmt": fmt, "level": level}),
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stdout.strip().splitlines()
        raise StorageError(lines[-1] if lines else f"migrating {redacted(url)} failed")


def _upgrade_child() -> None:
    """:func:`upgrade_apart`'s child: migrate, print a failure on stdout, exit 1."""
    from monitor.log import configure_logging

    given = json.loads(sys.stdin.read())
    configure_logging(fmt=given["fmt"], level=given["level"])
    try:
        open_database(given["url"]).dispose()
    except StorageError as exc:
        print(str(exc), flush=True)
        sys.exit(1)


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


def share_write_lock(engine: Engine, lock: threading.RLock) -> None:
    """Make ``lock`` the one :func:`write_transaction` takes on ``engine``: the direct
    path's (:mod:`monitor.storage.direct`) after a hand-over, whose statements a poll
    thread may still be running. Else the two connections meet in SQLite's busy
    handler (the sleeps :func:`write_transaction` avoids), and a transaction that reads
    before it writes fails at once with "database is locked" when the other connection
    wrote in between (WAL: its snapshot is stale, so SQLite does not wait). Storage's
    transactions write first today; this keeps it so whatever they become."""
    with _WRITE_LOCKS_GUARD:
        _WRITE_LOCKS[engine] = lock


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
