"""Group commit (SQLite): polls that queue while another is written share one transaction,
each under its own savepoint, so one poll's failure costs neither the others nor its own
feed's earlier state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from monitor import storage
from monitor.errors import StorageError
from monitor.storage import articles, group_commit, story_alerts
from monitor.storage.database import write_transaction
from monitor.storage.models import ArticleRow, FeedRow
from monitor.types import FeedSpec, FeedState, FeedUpdate, MatchedArticle
from tests.storage.conftest import expire_leases
from tests.storage.test_storage import NOW, POLICY, article, claim_one, match

GOOD = ["g1", "g2", "g3", "g4"]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    names = ["first", *GOOD, "bad", "lost"]
    storage.sync_feeds(eng, [FeedSpec(n, f"http://127.0.0.1:1/{n}") for n in names], NOW)
    yield eng
    eng.dispose()


def commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda conn: seen.append(1))
    return seen


def poll_update(feed: str, etag: str, key: str, owner: str = "w1") -> FeedUpdate:
    state = FeedState(
        name=feed, status="ok", etag=etag, last_poll=NOW, next_poll=NOW + timedelta(minutes=10)
    )
    items = (MatchedArticle(article(feed, key, title=f"{feed} story {key}"), (match(),)),)
    return FeedUpdate(feed=feed, state=state, articles=items, lease_owner=owner)


def in_one_group(engine: Engine, saves: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run ``saves`` so that all but the first queue behind it and are written as one
    group: the write lock is held until they all wait. Returns feed → result or error."""
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            results[name] = saves[name]()
        except Exception as exc:
            results[name] = exc

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, "the polls never queued"
            time.sleep(0.005)

    names = list(saves)
    threads = {n: threading.Thread(target=run, args=(n,)) for n in names}
    with write_transaction(engine):  # the database is busy: the polls queue
        threads[names[0]].start()
        groups = group_commit._GROUPS[engine]
        until(lambda: groups.writing and not groups.queue)  # the first leads, alone
        for n in names[1:]:
            threads[n].start()
        until(lambda: len(groups.queue) == len(names) - 1)
    for t in threads.values():
        t.join(30)
    return results


def stored(engine: Engine, feed: str) -> tuple[str | None, list[str]]:
    with engine.connect() as conn:
        etag = conn.execute(select(FeedRow.etag).where(FeedRow.name == feed)).scalar()
        keys = conn.execute(
            select(ArticleRow.article_key)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .where(FeedRow.name == feed)
            .order_by(ArticleRow.article_key)
        ).scalars()
        return etag, list(keys)


def claim_group(engine: Engine) -> None:
    """The group's feeds claimed: "first", GOOD, "bad" and "lost"."""
    for feed in ["first", *GOOD, "bad"]:
        claim_one(engine, feed)
    # "bad" was polled before: its etag and its article are stored.
    storage.save_feed_update(engine, poll_update("bad", "bad-1", "k0"), POLICY, NOW)
    claim_one(engine, "bad")
    # "lost" is still being polled by a worker whose lease ran out and was taken over.
    claim_one(engine, "lost", owner="slow")
    expire_leases(engine)
    claim_one(engine, "lost", owner="fast", now=NOW + timedelta(minutes=6))


def test_a_poll_that_fails_in_a_group_loses_neither_the_others_nor_its_earlier_state(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_group(engine)

    # imported by the save where it stores a match, from its home
    real = story_alerts.record_match

    def record_match(conn: Any, item: MatchedArticle, **kwargs: Any) -> Any:
        if item.article.feed == "bad":
            raise RuntimeError("a bug while storing bad's story")
        return real(conn, item, **kwargs)

    monkeypatch.setattr(story_alerts, "record_match", record_match)
    committed = commits(engine)

    def saving(update: FeedUpdate) -> Callable[[], Any]:
        return lambda: storage.save_feed_update(engine, update, POLICY, NOW)

    results = in_one_group(
        engine,
        {
            "first": saving(poll_update("first", "first-1", "k1")),
            **{g: saving(poll_update(g, f"{g}-1", "k1")) for g in GOOD[:2]},
            "bad": saving(poll_update("bad", "bad-2", "k1")),
            "lost": saving(poll_update("lost", "lost-1", "k1", owner="slow")),
            **{g: saving(poll_update(g, f"{g}-1", "k1")) for g in GOOD[2:]},
        },
    )

    # The transaction that held the database, the first poll alone, then the six polls
    # that queued meanwhile, at once (one commit each: 8).
    assert len(committed) == 3
    for feed in ["first", *GOOD]:
        assert results[feed].saved and results[feed].new == 1
        assert stored(engine, feed) == (f"{feed}-1", ["k1"])
    # The failing poll raised in its own thread and wrote nothing; its feed keeps the
    # state and the article of its earlier poll.
    assert isinstance(results["bad"], RuntimeError)
    assert stored(engine, "bad") == ("bad-1", ["k0"])
    assert not results["lost"].saved
    assert stored(engine, "lost") == (None, [])


def test_a_group_whose_commit_fails_reports_none_of_its_polls_as_stored(engine: Engine) -> None:
    for feed in GOOD:
        claim_one(engine, feed)

    holder = threading.current_thread()  # its own empty transaction commits

    def refuse(conn: Any) -> None:
        if threading.current_thread() is not holder:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    saves = {
        g: (lambda g=g: storage.save_feed_update(engine, poll_update(g, "e", "k1"), POLICY, NOW))
        for g in GOOD
    }
    event.listen(engine, "commit", refuse)
    results = in_one_group(engine, saves)
    event.remove(engine, "commit", refuse)

    assert all(isinstance(results[g], StorageError) for g in GOOD)
    assert all(stored(engine, g) == (None, []) for g in GOOD)


def test_work_written_by_another_thread_logs_with_its_own_context(engine: Engine) -> None:
    def bound(feed: str) -> Callable[[], Any]:
        def work() -> Any:
            with structlog.contextvars.bound_contextvars(feed=feed):
                return group_commit.write_in_group(
                    engine, lambda conn: structlog.contextvars.get_contextvars().get("feed")
                )

        return work

    results = in_one_group(engine, {g: bound(g) for g in GOOD})

    assert results == {g: g for g in GOOD}


def test_polls_that_only_change_a_feeds_state_share_a_group_without_savepoints(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 304 writes its feed's state alone, one statement: in a group it needs no
    savepoint (SQLite undoes a failed statement by itself), and one that fails still
    costs neither the others nor its feed's earlier state."""
    claim_group(engine)

    real = articles.write_feed_state

    def write_feed_state(conn: Any, state: FeedState, **kwargs: Any) -> Any:
        if state.name == "bad":  # the database refuses this one statement
            conn.execute(update(FeedRow).where(FeedRow.name == "bad").values(name=None))
        return real(conn, state, **kwargs)

    monkeypatch.setattr(articles, "write_feed_state", write_feed_state)
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0])
    )

    def not_modified(feed: str, etag: str, owner: str = "w1") -> Callable[[], Any]:
        state = FeedState(name=feed, status="not_modified", etag=etag, last_poll=NOW)
        update_ = FeedUpdate(feed=feed, state=state, lease_owner=owner)
        return lambda: storage.save_feed_update(engine, update_, POLICY, NOW)

    results = in_one_group(
        engine,
        {
            "first": not_modified("first", "first-1"),
            **{g: not_modified(g, f"{g}-1") for g in GOOD[:2]},
            "bad": not_modified("bad", "bad-2"),
            "lost": not_modified("lost", "lost-1", owner="slow"),
            **{g: not_modified(g, f"{g}-1") for g in GOOD[2:]},
        },
    )

    for feed in ["first", *GOOD]:
        assert results[feed].saved
        assert stored(engine, feed)[0] == f"{feed}-1"
    assert isinstance(results["bad"], StorageError)
    assert stored(engine, "bad") == ("bad-1", ["k0"])
    assert not results["lost"].saved
    assert stored(engine, "lost") == (None, [])
    assert "SAVEPOINT" not in statements and "RELEASE" not in statements
