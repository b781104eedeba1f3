"""``poll_feed`` directly: one feed's poll, start to end, with a fake fetcher and a real
SQLite file (fast; the HTTP client has its own tests against real servers)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.policy import AlertPolicy
from monitor.metrics import Metrics
from monitor.parsing.pool import ParserPool
from monitor.pipeline import (
    KNOWN_KEYS_FLOOR,
    KNOWN_KEYS_SENT,
    FeedOutcome,
    Pipeline,
    known_keys_wanted,
    poll_feed,
)
from monitor.sifting import TopicSource
from monitor.storage.handover import Database
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import ErrorKind, FeedSpec, PollStatus
from tests.support.fakefetcher import FakeFetcher
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://feeds.example.org/world.xml"
SPEC = FeedSpec("world", URL, interval=timedelta(minutes=10))
TOPIC_CONFIGS = [TopicConfig(id="summit", all=[["Trump"], ["Putin"], ["summit"]])]
TOPICS = compile_topics(TOPIC_CONFIGS)


@pytest.fixture(scope="module")
def parser() -> Iterator[ParserPool]:
    pool = ParserPool(size=1)
    yield pool
    pool.shutdown()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = storage.open_database(f"sqlite:///{tmp_path / 'm.db'}")
    storage.sync_feeds(eng, [SPEC], NOW)
    yield eng
    eng.dispose()


def poll(
    engine: Engine,
    fetcher: FakeFetcher,
    parser: ParserPool,
    at: datetime,
    *,
    max_entries: int = 500,
    metrics: Metrics | None = None,
) -> FeedOutcome:
    """Claim the feed as a pass does, and poll it once."""
    pipeline = _kept_pipeline(engine, fetcher, parser, max_entries=max_entries, metrics=metrics)
    [(spec, state)] = storage.claim_feeds(
        engine, owner="test", now=at, lease=timedelta(minutes=5), limit=1, due_only=False
    )
    outcome = poll_feed(pipeline, spec, state, at, random.Random(7))
    storage.release_feeds(engine, "test")
    return outcome


def test_a_new_matching_item_alerts_once_and_the_same_body_again_is_unchanged(
    engine: Engine, parser: ParserPool
) -> None:
    fetcher = FakeFetcher().feed(URL, [SUMMIT_EN, OTHER_EN], etag='"v1"')

    first = poll(engine, fetcher, parser, NOW)
    again = poll(engine, fetcher, parser, NOW + timedelta(minutes=10))

    assert (first.status, first.new, first.matched) == (PollStatus.OK, 2, 1)
    assert [a.title for a in first.alerts] == [SUMMIT_EN.title]
    assert (again.status, again.new, again.alerts) == (PollStatus.UNCHANGED, 0, ())
    assert fetcher.asked[1].etag == '"v1"'  # the stored validator was sent back


def test_a_304_keeps_the_validators_and_polls_again_after_the_interval(
    engine: Engine, parser: ParserPool
) -> None:
    fetcher = FakeFetcher().feed(URL, [OTHER_EN], etag='"v1"').not_modified(URL)
    poll(engine, fetcher, parser, NOW)

    outcome = poll(engine, fetcher, parser, NOW + timedelta(minutes=10))

    state = storage.load_feed_state(engine, "world")
    assert outcome.status is PollStatus.NOT_MODIFIED
    assert state is not None and state.etag == '"v1"' and state.errors == 0
    assert state.next_poll is not None
    wait = state.next_poll - (NOW + timedelta(minutes=10))
    assert timedelta(minutes=9) <= wait <= timedelta(minutes=11)


def test_failures_back_off_then_raise_feed_down_once_and_recovered_after(
    engine: Engine, parser: ParserPool
) -> None:
    fetcher = FakeFetcher()
    for _ in range(5):
        fetcher.error(URL, ErrorKind.CONNECT, "could not connect: refused")
    fetcher.feed(URL, [OTHER_EN])

    # Attempts at 0, 10, 20, 30 and 40 minutes: down once failing for 30 min (the 4th).
    at = [NOW + timedelta(minutes=10 * i) for i in range(6)]
    outcomes = [poll(engine, fetcher, parser, when) for when in at]

    assert [o.status for o in outcomes] == [PollStatus.ERROR] * 5 + [PollStatus.OK]
    assert outcomes[0].error == "connect: could not connect: refused"
    raised = [(i, a.topic) for i, o in enumerate(outcomes) for a in o.alerts]
    assert raised == [(3, "monitor:feed-down"), (5, "monitor:feed-recovered")]
    state = storage.load_feed_state(engine, "world")
    assert state is not None and state.failing_since is None


def test_a_gone_feed_stops_being_polled_with_one_operator_alert(
    engine: Engine, parser: ParserPool
) -> None:
    fetcher = FakeFetcher().error(URL, ErrorKind.GONE, "410 Gone: the feed was removed")

    outcome = poll(engine, fetcher, parser, NOW)

    state = storage.load_feed_state(engine, "world")
    assert outcome.status is PollStatus.GONE
    assert [a.topic for a in outcome.alerts] == ["monitor:feed-gone"]
    assert state is not None and state.next_poll is None and state.status == "gone"


def test_a_changed_item_is_matched_again_and_known_ones_are_not_counted_twice(
    engine: Engine, parser: ParserPool
) -> None:
    quiet = Item("Talks planned", "https://news.example.org/talks", "Officials plan talks.")
    loud = Item(quiet.title, quiet.link, SUMMIT_EN.description)  # the text changed
    later = Item("Markets steady", "https://news.example.org/markets", "Shares held.")
    fetcher = (
        FakeFetcher()
        .feed(URL, [quiet, OTHER_EN])
        .feed(URL, [loud, OTHER_EN, PEACE_EN])
        .feed(URL, [loud, OTHER_EN, PEACE_EN, later])
    )
    metrics = Metrics()

    outcomes = [
        poll(engine, fetcher, parser, NOW + timedelta(minutes=10 * i), metrics=metrics)
        for i in range(3)
    ]

    assert [(o.new, o.changed, o.matched) for o in outcomes] == [(2, 0, 0), (1, 1, 1), (1, 0, 0)]
    assert [a.topic for a in outcomes[1].alerts] == ["summit"]
    assert b'monitor_matches_total{topic="summit"} 1.0' in metrics.render()


def test_an_old_item_back_in_the_feed_is_not_news_beyond_the_newest_keys(
    engine: Engine, parser: ParserPool
) -> None:
    """The worker is sent only the feed's newest keys; an older one is still known."""

    def item(name: str, hour: int) -> Item:
        return Item(
            f"Item {name}",
            f"https://news.example.org/{name}",
            f"Text of {name}.",
            guid=f"id-{name}",
            published=NOW - timedelta(hours=24 - hour),
        )

    fetcher = FakeFetcher()
    for pair in (("a", "b"), ("c", "d"), ("e", "f")):
        fetcher.feed(URL, [item(name, i + ord(name) - 96) for i, name in enumerate(pair)])
    # a comes back, newer than the rest (a feed that re-dates an item), with g
    fetcher.feed(URL, [item("a", 20), item("g", 21)])

    outcomes = [
        poll(engine, fetcher, parser, NOW + timedelta(minutes=10 * i), max_entries=2)
        for i in range(4)
    ]

    assert [(o.new, o.changed) for o in outcomes] == [(2, 0), (2, 0), (2, 0), (1, 0)]


def _kept_pipeline(
    engine: Engine,
    fetcher: FakeFetcher,
    parser: ParserPool,
    *,
    max_entries: int = 500,
    metrics: Metrics | None = None,
) -> Pipeline:
    """A pipeline of the test's topics; kept for every poll, as the daemon keeps it
    between ticks, or made for one (:func:`poll`)."""
    return Pipeline(
        max_entries=max_entries,
        metrics=metrics,
        db=Database.of(engine),
        fetcher=fetcher,
        compiled_topics=lambda: TOPICS,
        policy=AlertPolicy(),
        owner="test",
        parser=parser,
        topic_source=TopicSource.of(TOPIC_CONFIGS),
    )


def _poll_with(pipeline: Pipeline, engine: Engine, at: datetime) -> FeedOutcome:
    [(spec, state)] = storage.claim_feeds(
        engine, owner="test", now=at, lease=timedelta(minutes=5), limit=1, due_only=False
    )
    outcome = poll_feed(pipeline, spec, state, at, random.Random(7))
    storage.release_feeds(engine, "test")
    return outcome


def _numbered(n: int) -> Item:
    return Item(f"Item {n}", f"https://news.example.org/{n}", f"Text {n}.", guid=f"id-{n}")


def test_a_feed_parsed_before_sends_its_worker_keys_for_its_size_not_the_whole_cap(
    engine: Engine, parser: ParserPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's feeds gain keys with every poll that brings news: sending a feed's
    newest 2 × max_entries keys on every changed poll grew each poll's memory with the
    database (tests/benchmarks/README.md, mem10). A feed of a few items gets a few
    dozen once it was parsed in this process; a process that has not parsed it yet
    (`monitor poll`, a pipeline rebuilt at a reload) still sends the cap."""
    asked: list[int] = []
    recent_keys = storage.recent_keys

    def counting(engine: Engine, feed: str, limit: int) -> tuple[dict[str, str | None], bool]:
        asked.append(limit)
        return recent_keys(engine, feed, limit)

    monkeypatch.setattr(storage, "recent_keys", counting)
    fetcher = FakeFetcher()
    for n in range(4):  # three items, one more every poll
        fetcher.feed(URL, [_numbered(k) for k in range(n, n + 3)])
    kept = _kept_pipeline(engine, fetcher, parser)

    outcomes = [_poll_with(kept, engine, NOW + timedelta(minutes=10 * i)) for i in range(3)]
    fresh = _poll_with(_kept_pipeline(engine, fetcher, parser), engine, NOW + timedelta(hours=1))

    assert [o.new for o in [*outcomes, fresh]] == [3, 1, 1, 1]
    # the first poll asks for none (nothing stored yet); a kept pipeline knows the size
    assert asked == [KNOWN_KEYS_FLOOR, KNOWN_KEYS_FLOOR, KNOWN_KEYS_SENT * 500]


def test_a_feed_grown_past_the_keys_sent_still_reports_only_its_new_items(
    engine: Engine, parser: ParserPool
) -> None:
    """Sixty items stored, then a body of two, then all sixty back with one more: the
    worker was sent the newest 50 keys only, and the rest are asked of the database."""
    everything = [_numbered(k) for k in range(60)]
    fetcher = (
        FakeFetcher()
        .feed(URL, everything)
        .feed(URL, [everything[0], _numbered(60)])
        .feed(URL, [*everything, _numbered(60), _numbered(61)])
    )
    kept = _kept_pipeline(engine, fetcher, parser)

    outcomes = [_poll_with(kept, engine, NOW + timedelta(minutes=10 * i)) for i in range(3)]

    assert [(o.new, o.changed) for o in outcomes] == [(60, 0), (1, 0), (1, 0)]
    assert known_keys_wanted(2, 500) == KNOWN_KEYS_FLOOR < 60
