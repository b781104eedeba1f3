"""A feed's newest known keys cost the same however long its history.

A changed poll hands its parser worker the feed's newest identity keys
(:func:`monitor.storage.recent_keys`). Without an index on the keys' first-seen time
SQLite read and sorted every key the feed ever had, on every such poll: work, and
page cache and sorter memory in the daemon, that grew with the database for as long
as the daemon ran (tests/benchmarks/README.md, mem11).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.storage.models import FeedRow, SeenKeyRow
from monitor.types import FeedSpec

NOW = datetime(2026, 12, 8, tzinfo=UTC)


def _history(engine: Engine, feed: str, keys: int) -> None:
    with engine.begin() as conn:
        fid = conn.execute(select(FeedRow.id).where(FeedRow.name == feed)).scalar_one()
        conn.execute(
            insert(SeenKeyRow),
            [
                {
                    "feed_id": fid,
                    "article_key": f"{feed}-{n:06d}",
                    "first_seen": NOW - timedelta(minutes=keys - n),
                }
                for n in range(keys)
            ],
        )


def _steps(engine: Engine, feed: str) -> tuple[int, list[str]]:
    """SQLite's virtual-machine steps (in hundreds) of one ``recent_keys`` call."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    def watch(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.set_progress_handler(count, 100)

    event.listen(engine, "checkout", watch)
    try:
        keys, complete = storage.recent_keys(engine, feed, 50)
    finally:
        event.remove(engine, "checkout", watch)
    assert not complete
    return counted[0], sorted(keys, reverse=True)


def test_the_newest_keys_are_read_without_the_whole_history(tmp_path: Path) -> None:
    engine = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        storage.sync_feeds(
            engine,
            [FeedSpec("short", "http://127.0.0.1:1/a"), FeedSpec("long", "http://127.0.0.1:1/b")],
            NOW,
        )
        _history(engine, "short", 60)
        _history(engine, "long", 20_000)
        short, short_keys = _steps(engine, "short")
        long, long_keys = _steps(engine, "long")
    finally:
        engine.dispose()
    # the 50 newest, whatever the history
    assert short_keys == [f"short-{n:06d}" for n in range(59, 9, -1)]
    assert long_keys == [f"long-{n:06d}" for n in range(19_999, 19_949, -1)]
    # and as much work for 20,000 known keys as for 60 (it was ~300 times as much)
    assert long <= 2 * short + 5, (short, long)
