"""PostgreSQL-only storage behaviour: session limits, dead connections, row locks.

What several workers on one PostgreSQL rely on beyond the shared storage tests
(which run on both databases): claims skip rows another transaction has locked
instead of waiting, a stalled worker past its lease writes nothing, connections cut
by the server are replaced, and driver errors arrive as :class:`StorageError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.policy import AlertPolicy
from monitor.errors import StorageError
from monitor.storage.models import AlertRow, ArticleRow, FeedRow
from monitor.types import (
    Alert,
    Article,
    Evidence,
    FeedSpec,
    FeedState,
    FeedUpdate,
    Match,
    MatchedArticle,
)
from tests.support.postgres_server import conninfo, fresh_database, terminate_connections

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def pg(pg_url: str) -> Iterator[tuple[str, Engine]]:
    with fresh_database(pg_url) as url:
        engine = storage.open_database(url)
        storage.sync_feeds(
            engine,
            [FeedSpec("a", "http://127.0.0.1:1/a"), FeedSpec("b", "http://127.0.0.1:1/b")],
            NOW,
        )
        yield url, engine
        engine.dispose()


def test_sessions_carry_statement_and_idle_transaction_timeouts(pg):
    _, engine = pg
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "1min"
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "2min"
    # And they bite: a query past the limit is cancelled, and arrives as a StorageError.
    with pytest.raises(StorageError, match="statement timeout"):
        _slow_claim(engine)


@storage.database.translates_errors
def _slow_claim(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SET statement_timeout = 200"))
        conn.execute(text("SELECT pg_sleep(2)"))


def test_connections_cut_by_the_server_are_replaced_before_use(pg):
    url, engine = pg
    storage.ping(engine)  # a pooled connection now exists
    assert terminate_connections(url) >= 1

    # pool_pre_ping notices the dead connection and opens a new one: no error at all.
    claimed = storage.claim_feeds(engine, owner="w", now=NOW, lease=LEASE, limit=10)

    assert {s.name for s, _ in claimed} == {"a", "b"}


def test_a_claim_skips_rows_locked_by_another_transaction_instead_of_waiting(pg):
    url, engine = pg
    with psycopg.connect(conninfo(url)) as other:
        # Another worker is in the middle of claiming feed a.
        other.execute("SELECT id FROM feeds WHERE name = 'a' FOR UPDATE")
        started = time.monotonic()
        claimed = storage.claim_feeds(engine, owner="w2", now=NOW, lease=LEASE, limit=10)
        waited = time.monotonic() - started
        other.rollback()

    assert [s.name for s, _ in claimed] == ["b"]
    assert waited < 1.0


def test_concurrent_claims_never_hand_one_feed_to_two_workers(pg):
    _, engine = pg
    storage.sync_feeds(
        engine, [FeedSpec(f"f{i}", f"http://127.0.0.1:1/{i}") for i in range(200)], NOW
    )
    results: dict[str, list[str]] = {}

    def worker(owner: str) -> None:
        got: list[str] = []
        while batch := storage.claim_feeds(engine, owner=owner, now=NOW, lease=LEASE, limit=7):
            got.extend(s.name for s, _ in batch)
        results[owner] = got

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    claimed = [name for got in results.values() for name in got]
    assert sorted(claimed) == sorted(f"f{i}" for i in range(200))
    assert sum(1 for got in results.values() if got) > 1  # really shared out


def test_a_worker_stalled_past_its_lease_writes_nothing_even_if_nobody_took_over(pg):
    _, engine = pg
    storage.claim_feeds(
        engine, owner="slow", now=NOW, lease=LEASE, limit=1, names=["a"], due_only=False
    )
    with engine.begin() as conn:  # five minutes pass on the database's clock
        conn.execute(
            update(FeedRow)
            .where(FeedRow.name == "a")
            .values(lease_until=datetime(2000, 1, 1, tzinfo=UTC))
        )

    result = storage.save_feed_update(
        engine,
        FeedUpdate(
            feed="a",
            state=FeedState(name="a", status="ok", last_poll=NOW),
            articles=(MatchedArticle(_article("k1", "Putin"), (_match(),)),),
            lease_owner="slow",
        ),
        AlertPolicy(),
        NOW,
    )

    assert not result.saved
    with engine.connect() as conn:
        assert conn.execute(select(ArticleRow.id)).first() is None


def test_nul_characters_never_reach_postgresql(pg):
    _, engine = pg
    storage.claim_feeds(
        engine, owner="w", now=NOW, lease=LEASE, limit=1, names=["a"], due_only=False
    )
    art = _article("k1", "Putin\x00 meets Trump", url="https://e.org/a\x00b", summary="sum\x00mary")
    result = storage.save_feed_update(
        engine,
        FeedUpdate(
            feed="a",
            state=FeedState(
                name="a", status="error", last_error="bad\x00byte", etag='"e\x00"', last_poll=NOW
            ),
            articles=(MatchedArticle(art, (_match(),)),),
            operator_alerts=(
                Alert(
                    id="op1",
                    kind="operator",
                    topic="feed-down",
                    topic_name="op\x00",
                    title="t\x00",
                    url=None,
                    feed="a",
                    published=None,
                    detected_at=NOW,
                    evidence=(),
                ),
            ),
            lease_owner="w",
        ),
        AlertPolicy(),
        NOW,
    )

    assert result.saved and result.new == 1
    with engine.connect() as conn:
        row = conn.execute(
            select(ArticleRow.title, ArticleRow.summary, ArticleRow.url, ArticleRow.article_key)
        ).one()
        feed = conn.execute(
            select(FeedRow.last_error, FeedRow.etag).where(FeedRow.name == "a")
        ).one()
        titles = set(conn.execute(select(AlertRow.title)).scalars())
    assert tuple(row) == ("Putin meets Trump", "summary", "https://e.org/ab", "k1")
    assert tuple(feed) == ("badbyte", '"e"')
    assert titles == {"Putin meets Trump", "t"}


def test_an_unreachable_server_is_a_storage_error_not_a_driver_error():
    engine = storage.create_database_engine(
        "postgresql+psycopg://monitor:monitor@127.0.0.1:1/monitor"
    )
    try:
        with pytest.raises(StorageError):
            storage.claim_feeds(engine, owner="w", now=NOW, lease=LEASE, limit=1)
        with pytest.raises(StorageError):
            storage.outbox_counts(engine)
        with pytest.raises(StorageError):
            storage.open_database("postgresql+psycopg://monitor:monitor@127.0.0.1:1/monitor")
    finally:
        engine.dispose()


def _article(key: str, title: str, url: str | None = None, summary: str = "") -> Article:
    return Article(
        feed="a",
        article_key=key,
        content_hash=f"h-{key}",
        url=url or f"https://e.org/{key}",
        title=title,
        summary=summary,
        published=NOW,
        language="en",
    )


def _match() -> Match:
    return Match(topic="t1", score=1.0, evidence=(Evidence("Putin", "title", 0, "Putin"),))
