"""Storage: feed claims and leases, one-transaction saves, stories, outbox, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from monitor import storage
from monitor.alerts.policy import AlertPolicy
from monitor.storage.models import ArticleRow, DeliveryRow, SeenKeyRow
from monitor.types import (
    Article,
    Evidence,
    FeedSpec,
    FeedState,
    FeedUpdate,
    Match,
    MatchedArticle,
)
from tests.storage.conftest import expire_leases

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
SPECS = [FeedSpec("a", "http://127.0.0.1:1/a"), FeedSpec("b", "http://127.0.0.1:1/b")]
POLICY = AlertPolicy(channels=(("webhook:x", None), ("email:y", frozenset({"t2"}))))


def article(
    feed: str,
    key: str,
    title: str = "Title",
    url: str | None = None,
    published: datetime | None = NOW,
) -> Article:
    return Article(
        feed=feed,
        article_key=key,
        content_hash=f"h-{key}-{title}",
        url=url or f"https://example.org/{key}",
        title=title,
        published=published,
        language="en",
    )


def match(topic: str = "t1") -> Match:
    return Match(topic=topic, score=1.0, evidence=(Evidence("Putin", "title", 0, "Putin…"),))


def claim_one(engine, name: str, owner: str = "w1", now: datetime = NOW):
    claimed = storage.claim_feeds(
        engine,
        owner=owner,
        now=now,
        lease=timedelta(minutes=5),
        limit=10,
        names=[name],
        due_only=False,
    )
    assert [s.name for s, _ in claimed] == [name]
    return claimed[0][1]


def save(engine, feed: str, items, owner: str = "w1", now: datetime = NOW, policy=POLICY):
    state = claim_one(engine, feed, owner, now)
    done = FeedState(
        name=feed,
        status="ok",
        last_poll=now,
        next_poll=now + timedelta(minutes=10),
        etag=state.etag,
    )
    return storage.save_feed_update(
        engine,
        FeedUpdate(feed=feed, state=done, articles=tuple(items), lease_owner=owner),
        policy,
        now,
    )


@pytest.fixture(autouse=True)
def feeds(engine):
    """The two feeds every test starts with (``engine`` is SQLite, then PostgreSQL)."""
    storage.sync_feeds(engine, SPECS, NOW)


def test_sync_adds_updates_and_disables_feeds(engine):
    storage.sync_feeds(
        engine,
        [
            FeedSpec("a", "http://127.0.0.1:1/new", interval=timedelta(minutes=1)),
            FeedSpec("c", "http://127.0.0.1:1/c"),
        ],
        NOW,
    )
    status = {s.spec.name: s for s in storage.list_feed_status(engine, include_disabled=True)}
    assert status["a"].spec.url.endswith("/new") and status["a"].spec.interval.seconds == 60
    assert not status["b"].spec.enabled and status["c"].spec.enabled
    assert [s.spec.name for s in storage.list_feed_status(engine)] == ["a", "c"]


def test_a_leased_feed_is_not_claimed_twice_until_the_lease_expires(engine):
    first = storage.claim_feeds(engine, owner="w1", now=NOW, lease=timedelta(minutes=5), limit=10)
    assert {s.name for s, _ in first} == {"a", "b"}
    assert (
        storage.claim_feeds(engine, owner="w2", now=NOW, lease=timedelta(minutes=5), limit=10) == []
    )
    later = NOW + timedelta(minutes=6)
    expire_leases(engine)
    taken = storage.claim_feeds(engine, owner="w2", now=later, lease=timedelta(minutes=5), limit=10)
    assert {s.name for s, _ in taken} == {"a", "b"}


def test_a_walk_in_name_order_claims_every_feed_once_whatever_their_next_poll(engine):
    """A pass over every feed claims them in name order after the last one it took: a
    feed it just polled (next poll soon, sorting first) is not taken again, and it
    needs no list of the feeds it took."""
    names = ["Zeta", "alpha", "beta", "Éclair", "c1", "c10", "c2"]
    storage.sync_feeds(
        engine, [FeedSpec(n, f"http://127.0.0.1:1/{i}") for i, n in enumerate(names)], NOW
    )
    lease = timedelta(minutes=5)
    walked: list[str] = []
    last = ""
    while batch := storage.claim_feeds(
        engine, owner="w", now=NOW, lease=lease, limit=2, due_only=False, after=last
    ):
        last = batch[-1][0].name
        walked += [s.name for s, _ in batch]
        storage.release_feeds(engine, "w")  # polled: no lease, and due again at once
    assert sorted(walked) == sorted(names)  # a and b, left out of the sync, are disabled
    assert len(walked) == len(set(walked))


def test_a_worker_that_lost_its_lease_writes_nothing(engine):
    claim_one(engine, "a", owner="slow")
    later = NOW + timedelta(minutes=6)
    expire_leases(engine)
    claim_one(engine, "a", owner="fast", now=later)

    lost = storage.save_feed_update(
        engine,
        FeedUpdate(
            feed="a",
            state=FeedState(name="a", status="ok"),
            articles=(MatchedArticle(article("a", "k1"), (match(),)),),
            lease_owner="slow",
        ),
        POLICY,
        later,
    )

    assert not lost.saved
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ArticleRow)).scalar() == 0


def test_save_writes_articles_matches_alert_and_one_delivery_per_channel(engine):
    result = save(
        engine,
        "a",
        [
            MatchedArticle(article("a", "k1"), (match("t1"), match("t2"))),
            MatchedArticle(article("a", "k2"), ()),
        ],
    )

    assert (result.new, result.matched, len(result.alerts)) == (2, 2, 2)
    with engine.connect() as conn:
        channels = conn.execute(select(DeliveryRow.channel, DeliveryRow.alert_id)).all()
    by_alert: dict[str, set[str]] = {}
    for channel, alert in channels:
        by_alert.setdefault(alert, set()).add(channel)
    topics = {a.id: a.topic for a in result.alerts}
    assert {topics[k]: v for k, v in by_alert.items()} == {
        "t1": {"log", "webhook:x"},
        "t2": {"log", "webhook:x", "email:y"},
    }


def test_same_story_in_another_feed_links_instead_of_alerting(engine):
    save(engine, "a", [MatchedArticle(article("a", "k1", url="https://x.org/s"), (match(),))])

    again = save(
        engine, "b", [MatchedArticle(article("b", "other", url="https://x.org/s"), (match(),))]
    )

    assert again.alerts == () and again.linked == 1
    [(_, alert)] = storage.list_alerts(engine)
    assert alert.feeds == ("a", "b")


def test_near_duplicate_title_joins_the_story(engine):
    policy = AlertPolicy()
    save(
        engine,
        "a",
        [MatchedArticle(article("a", "k1", "Putin lands in Alaska"), (match(),))],
        policy=policy,
    )
    again = save(
        engine,
        "b",
        [MatchedArticle(article("b", "k9", "PUTIN LANDS IN ALASKA"), (match(),))],
        policy=policy,
    )
    assert again.linked == 1 and again.alerts == ()


def test_old_article_and_catch_up_raise_no_alert(engine):
    old = save(
        engine,
        "a",
        [MatchedArticle(article("a", "k1", published=NOW - timedelta(days=3)), (match(),))],
    )
    assert old.old == 1 and old.alerts == ()
    quiet = save(
        engine,
        "b",
        [MatchedArticle(article("b", "k2"), (match(),))],
        policy=AlertPolicy(raise_alerts=False),
    )
    assert quiet.alerts == () and quiet.matched == 1


def test_outbox_claim_deliver_retry_and_dead_letter(engine):
    save(engine, "a", [MatchedArticle(article("a", "k1"), (match("t1"),))])
    tasks = storage.claim_deliveries(engine, owner="d", now=NOW, lease=timedelta(minutes=1))
    assert {t.channel for t in tasks} == {"log", "webhook:x"}
    assert storage.claim_deliveries(engine, owner="e", now=NOW, lease=timedelta(minutes=1)) == []
    log_task = next(t for t in tasks if t.channel == "log")
    hook = next(t for t in tasks if t.channel == "webhook:x")
    assert hook.delivery_id == storage.delivery_id(hook.alert.id, "webhook:x")

    storage.mark_delivered(engine, log_task.id, "d", NOW)
    storage.mark_failed(engine, hook.id, "d", "HTTP 500", NOW + timedelta(seconds=30))

    assert (
        storage.claim_deliveries(
            engine, owner="d", now=NOW + timedelta(seconds=10), lease=timedelta(minutes=1)
        )
        == []
    )
    [retry] = storage.claim_deliveries(
        engine, owner="d", now=NOW + timedelta(seconds=31), lease=timedelta(minutes=1)
    )
    assert retry.attempts == 1 and retry.delivery_id == hook.delivery_id
    storage.mark_failed(engine, retry.id, "d", "HTTP 500", None)
    assert storage.outbox_counts(engine) == {"delivered": 1, "dead": 1}


def test_pruning_keeps_identity_keys_and_alerts(engine):
    save(engine, "a", [MatchedArticle(article("a", "k1"), (match(),))])

    removed = storage.prune_articles(engine, NOW + timedelta(days=1))

    assert removed == 1
    assert storage.known_articles(engine, "a", ["k1", "k2"]) == {"k1": None}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SeenKeyRow)).scalar() == 1
    assert len(storage.list_alerts(engine)) == 1


def test_known_articles_are_those_of_the_feed_asked_about(engine):
    save(engine, "a", [MatchedArticle(article("a", "k1", title="One"), ())])

    assert storage.known_articles(engine, "a", ["k1", "k2"]) == {"k1": "h-k1-One"}
    assert storage.known_articles(engine, "b", ["k1"]) == {}  # the same key, another feed
    assert storage.known_articles(engine, "nosuchfeed", ["k1"]) == {}


def test_failing_feeds_are_counted_among_the_enabled_ones(engine):
    storage.sync_feeds(engine, [*SPECS, FeedSpec("c", "http://127.0.0.1:1/c")], NOW)
    for name, status in (("a", "error"), ("b", "gone"), ("c", "ok")):
        claim_one(engine, name)
        storage.save_feed_update(
            engine,
            FeedUpdate(feed=name, state=FeedState(name=name, status=status), lease_owner="w1"),
            POLICY,
            NOW,
        )
    assert storage.count_failing_feeds(engine) == 2

    storage.sync_feeds(engine, [SPECS[0], FeedSpec("c", "http://127.0.0.1:1/c")], NOW)
    assert storage.count_failing_feeds(engine) == 1  # "b" was removed from the config


def test_alert_filters(engine):
    save(engine, "a", [MatchedArticle(article("a", "k1"), (match("t1"),))])
    save(
        engine,
        "b",
        [MatchedArticle(article("b", "k2"), (match("t2"),))],
        now=NOW + timedelta(hours=1),
    )
    assert [a.topic for _, a in storage.list_alerts(engine)] == ["t1", "t2"]
    assert [a.topic for _, a in storage.list_alerts(engine, topic="t2")] == ["t2"]
    assert [a.feed for _, a in storage.list_alerts(engine, feed="a")] == ["a"]
    assert [a.topic for _, a in storage.list_alerts(engine, limit=1)] == ["t2"]
    assert [a.topic for _, a in storage.list_alerts(engine, since=NOW + timedelta(minutes=30))] == [
        "t2"
    ]


def test_alerts_of_a_feed_include_stories_it_carried_second(engine):
    """`monitor alerts --feed b` lists the story "a" broke and "b" reported too."""
    storage.sync_feeds(
        engine,
        [*SPECS, FeedSpec("b_", "http://127.0.0.1:1/b_"), FeedSpec("тасс", "http://127.0.0.1:1/t")],
        NOW,
    )
    wire = "https://example.org/wire"
    save(engine, "a", [MatchedArticle(article("a", "k1", url=wire), (match("t1"),))])
    save(
        engine,
        "b",
        [MatchedArticle(article("b", "k1", url=wire), (match("t1"),))],
        now=NOW + timedelta(minutes=1),
    )
    save(
        engine,
        "b",
        [MatchedArticle(article("b", "k2"), (match("t2"),))],
        now=NOW + timedelta(minutes=2),
    )
    save(
        engine,
        "тасс",
        [MatchedArticle(article("тасс", "k3", url=wire), (match("t1"),))],
        now=NOW + timedelta(minutes=3),
    )
    save(
        engine,
        "b_",
        [MatchedArticle(article("b_", "k4"), (match("t3"),))],
        now=NOW + timedelta(minutes=4),
    )

    by_b = storage.list_alerts(engine, feed="b")
    assert [(a.topic, a.feed) for _, a in by_b] == [("t1", "a"), ("t2", "b")]
    assert [a.topic for _, a in storage.list_alerts(engine, feed="b", limit=1)] == ["t2"]
    assert [a.topic for _, a in storage.list_alerts(engine, feed="b", topic="t1")] == ["t1"]
    assert [a.topic for _, a in storage.list_alerts(engine, feed="тасс")] == ["t1"]
    assert [a.topic for _, a in storage.list_alerts(engine, feed="b_")] == ["t3"]
    assert storage.list_alerts(engine, feed="c") == []


def test_two_workers_storing_the_same_wire_story_at_once_raise_one_alert(engine):
    """Near-duplicate headlines with different URLs, saved at the same moment by two workers
    (ten rounds: without the per-topic lock, PostgreSQL raised two alerts in about a third)."""
    import threading

    policy = AlertPolicy()
    for round_ in range(10):
        topic = f"t{round_}"
        claim_one(engine, "a", owner="w1")
        claim_one(engine, "b", owner="w2")
        barrier = threading.Barrier(2)
        results = {}

        def worker(
            feed: str,
            owner: str,
            title: str,
            topic: str = topic,
            round_: int = round_,
            barrier: threading.Barrier = barrier,
            results: dict = results,
        ) -> None:
            item = MatchedArticle(
                article(feed, f"k-{feed}-{round_}", title, url=f"https://{feed}.org/{round_}"),
                (match(topic),),
            )
            barrier.wait()
            results[feed] = storage.save_feed_update(
                engine,
                FeedUpdate(
                    feed=feed,
                    state=FeedState(name=feed, status="ok"),
                    articles=(item,),
                    lease_owner=owner,
                ),
                policy,
                NOW,
            )

        threads = [
            threading.Thread(target=worker, args=("a", "w1", f"Putin lands {round_}")),
            threading.Thread(target=worker, args=("b", "w2", f"PUTIN LANDS {round_}")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)

        assert sum(len(r.alerts) for r in results.values()) == 1, round_
        [(_, alert)] = storage.list_alerts(engine, topic=topic)
        assert sorted(alert.feeds) == ["a", "b"]


def test_a_story_with_a_long_url_is_stored_and_alerted_once(engine):
    """News URLs run past 200 characters (long slugs, tracking); the alert's story key
    must still fit its column on PostgreSQL, and the story still be recognised."""
    url = "https://example.org/" + "a-very-long-slug-" * 30 + "end"
    first = save(engine, "a", [MatchedArticle(article("a", "k1", url=url), (match(),))])
    again = save(
        engine,
        "b",
        [MatchedArticle(article("b", "k9", url=url), (match(),))],
        now=NOW + timedelta(minutes=1),
    )

    assert len(first.alerts) == 1 and first.alerts[0].url == url
    assert again.alerts == () and again.linked == 1
    [(_, alert)] = storage.list_alerts(engine)
    assert alert.feeds == ("a", "b")


def test_alerts_of_one_poll_are_listed_in_the_order_they_were_raised(engine):
    """One poll, one clock reading: `monitor alerts --limit 1` is still the last one."""
    items = [
        MatchedArticle(
            article("a", f"k{n}", title=f"Story {n}", url=f"https://example.org/{n}"), (match(),)
        )
        for n in range(6)
    ]
    save(engine, "a", items)

    listed = [a.title for _, a in storage.list_alerts(engine)]
    assert listed == [f"Story {n}" for n in range(6)]
    assert [a.title for _, a in storage.list_alerts(engine, limit=1)] == ["Story 5"]
