"""The hand-over from the direct path to the engine (:mod:`monitor.storage.handover`)
on one SQLite file: the two connections of one process never race for its lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.storage.database import open_database, write_transaction
from monitor.storage.feeds import sync_feeds
from monitor.storage.handover import Database
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
