"""The memory a long-running process holds for a SQLite file is bounded and small.

Every pooled connection keeps its own page cache: at SQLite's default (2,000 KiB) the
daemon's memory crept up by that much per connection as the file grew, for as long as
it ran (tests/benchmarks/bench_daemon_memory.py). Each connection the monitor opens
holds at most :data:`~monitor.storage.database.SQLITE_CACHE_KIB` of pages.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import text

from monitor import storage
from monitor.storage.database import SQLITE_CACHE_KIB


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
