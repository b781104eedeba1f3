"""The statements of an unchanged poll pass, on SQLite through the standard library's
``sqlite3``: what lets `monitor poll` of feeds that all answer 304 or the same bytes run
without importing SQLAlchemy (~0.1 s of CPU to import, and as much again in its
per-statement machinery: tests/benchmarks/README.md, repoll10 and repoll11).

Each statement is the one SQLAlchemy compiles from storage's Core version on SQLite,
character for character (tests/storage/test_direct.py compiles both and compares):
:data:`CLAIM_BY_NAME` and :data:`LEASE` are :func:`~monitor.storage.feeds.claim_feeds`'
pass over every feed (with :func:`~monitor.storage.leases.lease_rows`),
:data:`WRITE_STATE` is :func:`~monitor.storage.feeds.write_feed_state`'s leased UPDATE,
:data:`RELEASE` and :data:`RELEASE_NAMED` are :func:`~monitor.storage.feeds.release_feeds`',
:data:`SYNCED` is what :func:`~monitor.storage.feeds.sync_feeds` compares. The row and
value conversions are shared with those functions (:func:`feed_spec`, :func:`feed_state`,
:func:`state_values`, :func:`synced_values`). On SQLite the database's clock is the
worker's (:func:`~monitor.storage.feeds.db_now`).

Anything else (a feed that changed, an operator alert, something in the outbox, a
claim by name or of due feeds only) is not done here: :mod:`monitor.storage.handover`
hands the rest of the process over to the SQLAlchemy engine. Errors are translated
into the messages :func:`~monitor.storage.database.translates_errors` gives.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import DataRefusedError, StorageError
from monitor.types import FeedSpec, FeedState

SQLITE_CACHE_KIB = 512
"""Page cache of each SQLite connection, KiB (SQLite's default: 2,000)."""
SQLITE_STATEMENTS = 32
"""Prepared statements each SQLite connection keeps (Python's default: 128)."""
SQLITE_TIMEOUT = 30
"""Seconds a statement waits for another connection's write lock."""
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    # Each pooled connection has its own page cache (2 MiB by default), filled for
    # good as the file grows: the daemon's memory crept up by that much per
    # connection. The file's pages stay in the OS's cache; WAL readers reset theirs
    # whenever another connection wrote, which the poll threads do every tick.
    f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",
)
"""What every SQLite connection of `monitor` runs first (the engine's and this one's)."""

# SQLAlchemy's storage format of DateTime on SQLite (naive UTC, microseconds always).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

_FEED_COLUMNS = (
    "feeds.id, feeds.name, feeds.url, feeds.language, feeds.interval_s, feeds.enabled, "
    "feeds.etag, feeds.last_modified, feeds.content_hash, feeds.status, feeds.http_status, "
    "feeds.errors, feeds.last_error, feeds.last_poll, feeds.last_success, feeds.next_poll, "
    "feeds.down_since, feeds.next_poll_reason, feeds.failing_since, feeds.moved_to, "
    "feeds.lease_owner, feeds.lease_until, feeds.hot_until, feeds.hot_interval_s, "
    "feeds.hot_topic"
)
_TIMES = frozenset(
    {
        "last_poll",
        "last_success",
        "next_poll",
        "down_since",
        "failing_since",
        "lease_until",
        "hot_until",
    }
)

CLAIM_BY_NAME = (
    f"SELECT {_FEED_COLUMNS} \nFROM feeds \nWHERE feeds.enabled IS 1 AND feeds.status != ? "
    "AND (feeds.lease_until IS NULL OR feeds.lease_until < ?) AND feeds.name > ? "
    "ORDER BY feeds.name ASC\n LIMIT ? OFFSET ?"
)
"""A pass over every feed claims the next ones by name (``status``, clock, after, limit,
offset)."""
LEASE = "UPDATE feeds SET lease_owner=?, lease_until=? WHERE feeds.id IN ({ids})"
"""The claimed rows leased (owner, until, the ids)."""
WRITE_STATE = (
    "UPDATE feeds SET etag=?, last_modified=?, content_hash=?, status=?, http_status=?, "
    "errors=?, last_error=?, last_poll=?, last_success=?, next_poll=?, down_since=?, "
    "next_poll_reason=?, failing_since=?, moved_to=?, lease_owner=?, lease_until=? "
    "WHERE feeds.name = ? AND feeds.lease_owner = ? RETURNING id"
)
"""A poll's state, written only while ``owner`` holds the lease (its values, name, owner)."""
WRITE_STATE_COLUMNS = (
    "etag",
    "last_modified",
    "content_hash",
    "status",
    "http_status",
    "errors",
    "last_error",
    "last_poll",
    "last_success",
    "next_poll",
    "down_since",
    "next_poll_reason",
    "failing_since",
    "moved_to",
    "lease_owner",
    "lease_until",
)
RELEASE = "UPDATE feeds SET lease_owner=?, lease_until=? WHERE feeds.lease_owner = ?"
RELEASE_NAMED = (
    "UPDATE feeds SET lease_owner=?, lease_until=? WHERE feeds.lease_owner = ? "
    "AND feeds.name IN ({names})"
)
SYNCED = (
    "SELECT feeds.id, feeds.name, feeds.url, feeds.language, feeds.interval_s, "
    "feeds.enabled, feeds.status, feeds.next_poll \nFROM feeds"
)
QUIET_OUTBOX = (
    "SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending')"
    " + (SELECT count(*) FROM batches WHERE status = 'pending')"
    " + (SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL AND lease_until > ?)"
)
"""Anything a delivery round would look at: pending deliveries or digests, or a lease
another worker holds (:func:`~monitor.storage.leases.release_dead_leases` frees those
of dead local workers). None of them: the round would change nothing."""


def without_nul(value: str | None) -> str | None:
    """``value`` without NUL characters (PostgreSQL refuses them in text values)."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def feed_spec(row: Any) -> FeedSpec:
    """A feed row's (attributes ``name``, ``url`` …) configuration."""
    return FeedSpec(
        name=row.name,
        url=row.url,
        language=row.language,
        interval=timedelta(seconds=row.interval_s),
        enabled=bool(row.enabled),
    )


def feed_state(r: Any) -> FeedState:
    """A feed row's poll state (its times aware UTC)."""
    return FeedState(
        name=r.name,
        etag=r.etag,
        last_modified=r.last_modified,
        content_hash=r.content_hash,
        errors=r.errors,
        last_error=r.last_error,
        last_poll=r.last_poll,
        last_success=r.last_success,
        next_poll=r.next_poll,
        http_status=r.http_status,
        status=r.status,
        down_since=r.down_since,
        next_poll_reason=r.next_poll_reason,
        failing_since=r.failing_since,
        moved_to=r.moved_to,
        hot_until=r.hot_until,
        hot_interval=timedelta(seconds=r.hot_interval_s) if r.hot_interval_s else None,
        hot_topic=r.hot_topic,
    )


def state_values(state: FeedState) -> dict[str, Any]:
    """The columns a poll writes (its lease given back with it)."""
    return {
        "etag": state.etag,
        "last_modified": state.last_modified,
        "content_hash": state.content_hash,
        "errors": state.errors,
        "last_error": state.last_error,
        "last_poll": state.last_poll,
        "last_success": state.last_success,
        "next_poll": state.next_poll,
        "http_status": state.http_status,
        "status": state.status,
        "down_since": state.down_since,
        "next_poll_reason": state.next_poll_reason,
        "failing_since": state.failing_since,
        "moved_to": state.moved_to,
        "lease_owner": None,
        "lease_until": None,
    }


def synced_values(spec: FeedSpec) -> dict[str, Any]:
    """The columns of a feed row that follow the configuration."""
    return {
        "url": spec.url,
        "language": spec.language,
        "interval_s": spec.interval.total_seconds(),
        "enabled": spec.enabled,
    }


def in_sync(rows: Mapping[str, Any], specs: Sequence[FeedSpec]) -> bool:
    """Whether :func:`~monitor.storage.feeds.sync_feeds` would change nothing: every
    configured feed stored as configured, every other one disabled."""
    wanted = {s.name for s in specs}
    for spec in specs:
        row = rows.get(spec.name)
        if row is None or any(getattr(row, k) != v for k, v in synced_values(spec).items()):
            return False
    return not any(row.enabled for name, row in rows.items() if name not in wanted)


class _Row(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _bind(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime(_SQLITE_TIME)
    if isinstance(value, str):
        return without_nul(value)
    return value


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _rows(cursor: sqlite3.Cursor) -> list[_Row]:
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor.fetchall():
        row = _Row(zip(names, values, strict=True))
        for name in _TIMES.intersection(row):
            row[name] = _time(row[name])
        rows.append(row)
    return rows


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """``sqlite3``'s errors as :func:`~monitor.storage.database.translates_errors` gives
    SQLAlchemy's (the same messages: the driver's first line)."""
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.DataError) as exc:
        raise DataRefusedError(
            f"the database refused the data in {operation}: {_short(exc)}"
        ) from exc
    except sqlite3.Error as exc:
        raise StorageError(f"database error in {operation}: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class DirectStore:
    """One ``sqlite3`` connection to a current SQLite file, shared by the polling
    threads one statement group at a time, each committed before the next."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._file = _identity(conn)

    def file_lost(self) -> str | None:
        """Why the file this connection has open is no longer at its path (deleted or
        replaced: an engine opened now would create or open another file), else None."""
        if self._file is None:
            return None
        path, device, inode = self._file
        try:
            st = os.stat(path)
        except OSError as exc:
            return f"{path} gone ({exc.strerror or exc})"
        if (st.st_dev, st.st_ino) != (device, inode):
            return f"{path} replaced by another file"
        return None

    @property
    def lock(self) -> threading.RLock:
        """Held through each statement group: after a hand-over, the engine's writers
        take it too (:func:`~monitor.storage.database.share_write_lock`)."""
        return self._lock

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated(operation):
            try:
                yield self._conn
                self._conn.commit()
            except BaseException:
                # A failed COMMIT (a full disk: WAL writes the pages then) leaves the
                # transaction open, holding the file's write lock for every other
                # process (SQLAlchemy rolls back after a failed commit too).
                if self._conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self._conn.rollback()
                raise

    def feeds_in_sync(self, specs: Sequence[FeedSpec]) -> bool:
        with self._transaction("sync_feeds") as conn:
            rows = {r.name: r for r in _rows(conn.execute(SYNCED))}
        return in_sync(rows, specs)

    def claim_by_name(
        self, *, owner: str, now: datetime, lease: timedelta, limit: int, after: str
    ) -> list[tuple[FeedSpec, FeedState]]:
        with self._transaction("claim_feeds") as conn:
            rows = _rows(conn.execute(CLAIM_BY_NAME, ("gone", _bind(now), after, limit, 0)))
            if rows:
                ids = [r.id for r in rows]
                until = _bind(now + lease)
                conn.execute(LEASE.format(ids=", ".join("?" * len(ids))), (owner, until, *ids))
        return [(feed_spec(r), feed_state(r)) for r in rows]

    def write_state(self, state: FeedState, owner: str) -> bool:
        """Whether the state was written (``owner`` still held the lease)."""
        values = state_values(state)
        params = [_bind(values[c]) for c in WRITE_STATE_COLUMNS]
        with self._transaction("save_feed_update") as conn:
            found = conn.execute(WRITE_STATE, (*params, _bind(state.name), owner)).fetchone()
        return found is not None

    def release_feeds(self, owner: str, names: Sequence[str] | None = None) -> None:
        with self._transaction("release_feeds") as conn:
            if names is None:
                conn.execute(RELEASE, (None, None, owner))
            elif names:
                sql = RELEASE_NAMED.format(names=", ".join("?" * len(names)))
                conn.execute(sql, (None, None, owner, *names))

    def outbox_quiet(self, now: datetime) -> bool:
        with self._transaction("deliver") as conn:
            (busy,) = conn.execute(QUIET_OUTBOX, (_bind(now),)).fetchone()
        return not busy

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _identity(conn: sqlite3.Connection) -> tuple[str, int, int] | None:
    try:
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        st = os.stat(path)
    except (sqlite3.Error, OSError, TypeError, IndexError):
        return None
    return path, st.st_dev, st.st_ino


def open_direct(url: str) -> DirectStore | None:
    """A :class:`DirectStore` of the SQLite file at ``url`` when it exists at the newest
    schema; else None (PostgreSQL, a new or older file, an unusual URL)."""
    from monitor.storage.reader import connect_current

    conn = connect_current(
        url, check_same_thread=False, cached_statements=SQLITE_STATEMENTS, isolation_level=None
    )
    if conn is None:
        return None
    try:
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        conn.isolation_level = "DEFERRED"  # BEGIN before a change, as under SQLAlchemy
    except sqlite3.Error:
        conn.close()
        return None
    return DirectStore(conn)
