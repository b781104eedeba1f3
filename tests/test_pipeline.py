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
from monitor.pipeline import FeedOutcome, Pipeline, poll_feed
from monitor.sifting import TopicSource
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
    pipeline = Pipeline(
        max_entries=max_entries,
        metrics=metrics,
        engine=engine,
        fetcher=fetcher,
        compiled_topics=lambda: TOPICS,
        policy=AlertPolicy(),
        owner="test",
        parser=parser,
        topic_source=TopicSource.of(TOPIC_CONFIGS),
    )
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
