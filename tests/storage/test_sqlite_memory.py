"""The memory a long-running process holds for a SQLite file is bounded and small.

Every pooled connection keeps its own page cache: at SQLite's default (2,000 KiB) the
daemon's memory crept up by that much per connection as the file grew, for as long as
it ran (tests/benchmarks/bench_daemon_memory.py). Each connection the monitor opens
holds at most :data:`~monitor.storage.database.SQLITE_CACHE_KIB` of pages, and at most
:data:`~monitor.storage.database.SQLITE_STATEMENTS` prepared statements (a query with an IN
list is a new statement for each length of its list), and keeps the connections it
opened: a connection opened and closed again mid-run, or a statement prepared anew in
place of another, left holes in the C heap between the tick's short-lived blocks (the
daemon's memory crept up over hundreds of ticks).
"""

from __future__ import annotations

import ctypes
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, text

from monitor import storage
from monitor.storage.database import SQLITE_CACHE_KIB
from monitor.types import FeedSpec

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_connection_caches_at_most_the_bound(tmp_path):
    engine = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with engine.connect() as one, engine.connect() as two:  # two pooled connections
            for conn in (one, two):
                assert conn.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB
    finally:
        engine.dispose()
    assert SQLITE_CACHE_KIB <= 1024
    # the file itself is untouched: another program opening it gets SQLite's default
    plain = sqlite3.connect(tmp_path / "m.db")
    assert plain.execute("PRAGMA cache_size").fetchone()[0] == -2000
    plain.close()


def test_statements_of_every_length_of_an_in_list_do_not_pile_up(tmp_path):
    """300 lengths of one IN list on one connection: with Python's default of 128 kept
    statements SQLite's heap grew by ~6 MiB; kept to the bound, by under 3."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        pytest.skip("no shared SQLite library to ask for its heap")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    engine = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    query = text("SELECT id FROM feeds WHERE name IN :names").bindparams(
        bindparam("names", expanding=True)
    )
    try:
        with engine.connect() as conn:
            before = lib.sqlite3_memory_used()
            for n in range(1, 301):
                conn.execute(query, {"names": [f"feed-{i}" for i in range(n)]}).all()
            grown = (lib.sqlite3_memory_used() - before) / 2**20
    finally:
        engine.dispose()
    if grown < 0.2:
        pytest.skip("this Python's sqlite3 does not use the shared SQLite library")
    assert grown < 3, f"{grown:.1f} MiB"


def test_connections_opened_when_busy_stay_open(tmp_path):
    """Ten threads at once, twice (a busy tick, then the next): the second round opens
    no connection, the first round's are still there (the pool kept 5 and closed the
    others, to open them again the next time)."""
    engine = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_conn, _record: opened.append(dbapi_conn))
    closed: list[object] = []
    event.listen(engine, "close", lambda dbapi_conn, _record: closed.append(dbapi_conn))

    def busy_tick() -> None:
        inside = threading.Barrier(10)

        def work() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM feeds")).scalar()
                inside.wait(timeout=30)  # all ten hold a connection at once

        threads = [threading.Thread(target=work) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    try:
        busy_tick()
        first = len(opened)
        busy_tick()
        assert len(opened) == first  # nothing opened anew
        assert closed == []
    finally:
        engine.dispose()


def test_in_lists_of_every_length_are_a_few_statements(tmp_path):
    """Claims excluding 1 to 64 feeds, leases of 1 to 64 feeds and lookups of 1 to 64
    article keys: a few statements of each, not one per length, and the same feeds
    and keys come back as without padding."""
    engine = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    names = [f"f{i:02d}" for i in range(80)]
    storage.sync_feeds(engine, [FeedSpec(n, f"http://127.0.0.1:1/{n}") for n in names], NOW)
    sent: set[str] = set()
    event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.add(statement)
    )
    try:
        for n in range(1, 65):
            claimed = storage.claim_feeds(
                engine,
                owner=f"w{n}",
                now=NOW,
                lease=timedelta(seconds=1),
                limit=n,
                exclude=set(names[:n]),
            )
            got = sorted(spec.name for spec, _ in claimed)
            assert got == names[n : n + n]  # none excluded, as many as asked
            storage.release_feeds(engine, f"w{n}")
            known = storage.known_articles(engine, "f00", [f"k{i}" for i in range(n)])
            assert known == {}
        assert len(sent) < 40, len(sent)
    finally:
        engine.dispose()
