"""The hand-over from the direct path to the engine (:mod:`monitor.storage.handover`)
on one SQLite file: the two connections of one process never race for its lock."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import StorageError
from monitor.storage.database import open_database, write_transaction
from monitor.storage.direct import open_direct
from monitor.storage.feeds import sync_feeds
from monitor.storage.handover import Database
from monitor.storage.revision import head_revision
from monitor.types import FeedSpec

NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)


def test_a_direct_write_begun_before_the_hand_over_waits_for_the_engines_transaction(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    seeded = open_database(url)
    sync_feeds(seeded, [FeedSpec(name=n, url=f"http://127.0.0.1/{n}") for n in "ab"], NOW)
    seeded.dispose()
    db = Database.open(url, direct=True)
    try:
        store = db.direct  # a poll thread's, taken just before another thread hands over
        assert store is not None
        engine = db.engine
        read, written = threading.Event(), threading.Event()

        def claim() -> None:
            read.wait(5)
            store.claim_by_name(owner="me", now=NOW, lease=timedelta(minutes=5), limit=10, after="")
            written.set()

        thread = threading.Thread(target=claim)
        thread.start()
        try:
            # A group commit's transaction: it reads, then writes (engine.begin() alone
            # would begin only at the first write).
            with write_transaction(engine) as conn:
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("SELECT count(*) FROM feeds").all()
                read.set()
                written.wait(0.5)  # the direct claim, if it does not wait its turn
                conn.exec_driver_sql("UPDATE feeds SET errors = errors + 1")
        finally:
            read.set()
            thread.join(10)
        assert written.is_set()
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT errors, lease_owner FROM feeds").all()
        assert sorted(rows) == [(1, "me"), (1, "me")]
    finally:
        db.close()


def _seeded(tmp_path: Path, specs: list[FeedSpec]) -> str:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    seeded = open_database(url)
    sync_feeds(seeded, specs, NOW)
    seeded.dispose()
    return url


def test_a_file_at_an_older_revision_is_upgraded_on_the_engine_as_before(tmp_path: Path) -> None:
    url = _seeded(tmp_path, [FeedSpec(name="a", url="http://127.0.0.1/a")])
    conn = sqlite3.connect(tmp_path / "monitor.db")
    with conn:  # back at 0004: the revision before the head (0008, an index only)
        conn.execute("DROP INDEX ix_seen_keys_feed_first_seen")
        conn.execute("UPDATE alembic_version SET version_num = '0004'")
    conn.close()
    db = Database.open(url, direct=True)
    try:
        assert db.direct is None and db.engine_open
    finally:
        db.close()
    conn = sqlite3.connect(tmp_path / "monitor.db")
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(seen_keys)")}
        assert "ix_seen_keys_feed_first_seen" in indexes
    finally:
        conn.close()


def test_a_changed_configuration_is_synced_on_the_engine(tmp_path: Path) -> None:
    specs = [FeedSpec(name=n, url=f"http://127.0.0.1/{n}") for n in "ab"]
    url = _seeded(tmp_path, specs)
    db = Database.open(url, direct=True)
    try:
        db.sync_feeds(specs, NOW)
        assert not db.engine_open  # nothing to change: no engine
        moved = [specs[0], replace(specs[1], url="http://127.0.0.1/b2")]
        db.sync_feeds(moved, NOW)
        db.sync_feeds(moved[:1], NOW)
    finally:
        db.close()
    conn = sqlite3.connect(tmp_path / "monitor.db")
    try:
        rows = conn.execute("SELECT name, url, enabled FROM feeds ORDER BY name").fetchall()
    finally:
        conn.close()
    assert rows == [("a", "http://127.0.0.1/a", 1), ("b", "http://127.0.0.1/b2", 0)]


class _CommitFails:
    """A ``sqlite3`` connection whose next COMMIT fails (as with a full disk, which WAL
    meets only when the transaction's pages are written at its commit)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.fail = True

    def commit(self) -> None:
        if self.fail:
            self.fail = False
            raise sqlite3.OperationalError("database or disk is full")
        self.conn.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_failed_commit_on_the_direct_path_leaves_no_transaction_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _seeded(tmp_path, [FeedSpec(name="a", url="http://127.0.0.1/a")])
    store = open_direct(url)
    assert store is not None
    try:
        monkeypatch.setattr(store, "_conn", _CommitFails(store._conn))
        with pytest.raises(StorageError, match="database error in claim_feeds: database or disk"):
            store.claim_by_name(owner="me", now=NOW, lease=timedelta(minutes=5), limit=5, after="")
        # Another process can write (the lease was not: the claim is undone).
        other = sqlite3.connect(tmp_path / "monitor.db", timeout=0.2)
        try:
            with other:
                other.execute("UPDATE feeds SET errors = 1")
            assert other.execute("SELECT lease_owner FROM feeds").fetchall() == [(None,)]
        finally:
            other.close()
        # and the store goes on
        claimed = store.claim_by_name(
            owner="me", now=NOW, lease=timedelta(minutes=5), limit=5, after=""
        )
        assert [spec.name for spec, _ in claimed] == ["a"]
    finally:
        store.close()


def test_a_file_deleted_before_the_hand_over_is_not_created_anew(tmp_path: Path) -> None:
    url = _seeded(tmp_path, [FeedSpec(name="a", url="http://127.0.0.1/a")])
    db = Database.open(url, direct=True)
    try:
        assert db.direct is not None
        (tmp_path / "monitor.db").unlink()  # what the direct path wrote went with it
        with pytest.raises(StorageError, match="no longer at its path"):
            _ = db.engine
        assert not (tmp_path / "monitor.db").exists()
    finally:
        db.close()
