"""The memory a long-running process holds for a SQLite file is bounded and small.

Every pooled connection keeps its own page cache: at SQLite's default (2,000 KiB) the
daemon's memory crept up by that much per connection as the file grew, for as long as
it ran (tests/benchmarks/bench_daemon_memory.py). Each connection the monitor opens
holds at most :data:`~monitor.storage.direct.SQLITE_CACHE_KIB` of pages, and at most
:data:`~monitor.storage.direct.SQLITE_STATEMENTS` prepared statements (a query with an IN
list is a new statement for each length of its list).
"""

from __future__ import annotations

import ctypes
import sqlite3

import pytest
from sqlalchemy import bindparam, text

from monitor import storage
from monitor.storage.direct import SQLITE_CACHE_KIB


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
