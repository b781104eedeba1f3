"""Crash safety: `monitor run` SIGKILLed at random moments while feeds keep publishing.

Three local feeds publish a new item every second or so (about half of them match a
topic); the daemon polls them every second and delivers to a webhook on 127.0.0.1
and the alert log. It is killed with SIGKILL at seeded-random moments and restarted
each time; a last clean run drains what is left. Then nothing may be missing:
every published item stored, every matching one matched with exactly one alert,
every alert delivered to every channel, the alert log holding each alert once, and
the webhook seeing an id twice only where a kill can have fallen between "sent"
and "marked sent".
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import read_alert_log
from tests.support.daemon_support import Daemon
from tests.support.feedgen import Item, rss

SEED = int(os.environ.get("MONITOR_CRASH_SEED", "20250815"))
KILLS = 9
FEEDS = ("wire-a", "wire-b", "wire-c")
MATCHING = "Donald Trump and Vladimir Putin held a summit in Anchorage; talks went on for hours."
OTHER = "The city council approved the budget for next year after a long debate."


@dataclass(frozen=True)
class Planned:
    feed: str
    at: float
    """Seconds after the start when the item appears in its feed."""
    item: Item
    matching: bool


def plan(rng: random.Random, start: datetime, seconds: float) -> list[Planned]:
    """Every feed publishes an item every 0.8–1.8 s; titles are unrelated random words,
    so no two items are one story (the topic is in the description only)."""
    planned: list[Planned] = []
    for feed in FEEDS:
        at = rng.uniform(0.0, 1.0)
        n = 0
        while at < seconds:
            n += 1
            words = " ".join(
                "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9))) for _ in range(6)
            ).capitalize()
            matching = rng.random() < 0.5
            planned.append(
                Planned(
                    feed,
                    at,
                    Item(
                        title=words,
                        link=f"https://{feed}.example.org/{n}-{words.split()[0]}",
                        description=(MATCHING if matching else OTHER) + f" ({words})",
                        published=start + timedelta(seconds=at),
                    ),
                    matching,
                )
            )
            at += rng.uniform(0.8, 1.8)
    return planned


class Publisher:
    """Serves each feed's items that are due, all of them (nothing scrolls away)."""

    def __init__(self, server: HTTPServer, planned: list[Planned]) -> None:
        self.planned = planned
        self.started = time.monotonic()
        self.frozen_at: float | None = None
        self._lock = threading.Lock()
        for feed in FEEDS:
            server.expect_request(f"/{feed}.xml").respond_with_handler(
                lambda request, feed=feed: self._serve(feed, request)
            )
        self.urls = {feed: server.url_for(f"/{feed}.xml") for feed in FEEDS}

    def visible(self, feed: str | None = None) -> list[Planned]:
        with self._lock:
            now = time.monotonic() - self.started
            if self.frozen_at is not None:
                now = min(now, self.frozen_at)
        return [p for p in self.planned if p.at <= now and feed in (None, p.feed)]

    def freeze(self) -> None:
        with self._lock:
            self.frozen_at = time.monotonic() - self.started

    def _serve(self, feed: str, _request: Request) -> Response:
        items = [p.item for p in reversed(self.visible(feed))]
        return Response(rss(items, title=feed), content_type="application/rss+xml")


def db_rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        return list(db.execute(query).fetchall())


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    httpserver, write_config, tmp_path, receivers
):
    rng = random.Random(SEED)
    publisher = Publisher(httpserver, plan(rng, datetime.now(UTC), seconds=60))
    # A slow receiver widens the window between "sent" and "marked sent".
    hook = receivers(delay=0.2).start()
    config = write_config(
        feeds=[
            {"name": f, "url": u, "interval": "1s", "language": "en"}
            for f, u in publisher.urls.items()
        ],
        notify=[{"webhook": hook.url(), "name": "hook"}],
        delivery={"schedule": ["1s"] * 10},
    )
    db = tmp_path / "monitor.db"
    started_at = time.monotonic()

    kills = 0
    try:
        for _ in range(KILLS):
            daemon = Daemon(config)
            time.sleep(rng.uniform(1.0, 4.5))
            assert daemon.proc.poll() is None, daemon.stderr_path.read_text()[-3000:]
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.proc.wait(10)
            kills += 1
        publisher.freeze()
        final = Daemon(config)
        expected = publisher.visible()

        def drained() -> bool:
            # The file exists before the first start has created the tables in it (on a
            # busy machine every kill may come before that).
            if not db.exists() or db_rows(
                db, "SELECT count(*) FROM sqlite_master WHERE name IN ('articles', 'deliveries')"
            ) != [(2,)]:
                return False
            stored = db_rows(db, "SELECT count(*) FROM articles")[0][0]
            open_rows = db_rows(db, "SELECT count(*) FROM deliveries WHERE status != 'delivered'")[
                0
            ][0]
            return stored == len(expected) and open_rows == 0

        final.wait_for(drained, 40, "every item stored and every alert delivered")
        assert final.stop() == 0
    finally:
        hook.stop()
    took = time.monotonic() - started_at

    # No article lost: every published item is stored, once.
    articles = db_rows(
        db, "SELECT f.name, a.url, a.id FROM articles a JOIN feeds f ON f.id = a.feed_id"
    )
    assert sorted((f, u) for f, u, _ in articles) == sorted((p.feed, p.item.link) for p in expected)
    by_url = {u: i for _, u, i in articles}
    matching = {by_url[p.item.link] for p in expected if p.matching}
    assert matching and len(matching) < len(expected)
    # No match lost, none invented.
    matched = db_rows(db, "SELECT article_id FROM matches WHERE topic = 'trump-putin-summit'")
    assert sorted(a for (a,) in matched) == sorted(matching)
    # One alert per matching item (each is its own story), for no other.
    alerts = db_rows(db, "SELECT id, article_id, kind FROM alerts")
    assert {k for _, _, k in alerts} == {"topic"}
    assert sorted(a for _, a, _ in alerts) == sorted(matching)
    alert_ids = {i for i, _, _ in alerts}
    # Every alert delivered to every channel.
    deliveries = db_rows(db, "SELECT alert_id, channel, status FROM deliveries")
    # The outbox keys a channel by its kind and target (its name may change).
    hook_key = next(c for _, c, _ in deliveries if c != "log")
    assert hook_key.startswith("webhook:")
    assert Counter((c, s) for _, c, s in deliveries) == {
        ("log", "delivered"): len(alerts),
        (hook_key, "delivered"): len(alerts),
    }
    # The alert log holds each alert exactly once.
    logged = Counter(line["id"] for line in read_alert_log(tmp_path / "alerts.jsonl"))
    assert set(logged) == alert_ids and set(logged.values()) == {1}
    # The webhook got every alert; a second copy only where a kill fell between the
    # send and its "delivered" mark (at most one per kill), always with the same id.
    received = Counter(h.json()["data"]["id"] for h in hook.accepted())
    assert set(received) == alert_ids
    duplicates = sum(received.values()) - len(received)
    assert duplicates <= kills
    ids_per_alert: dict[str, set[str]] = {}
    for hit in hook.accepted():
        ids_per_alert.setdefault(hit.json()["data"]["id"], set()).add(hit.headers["webhook-id"])
    assert all(len(v) == 1 for v in ids_per_alert.values())
    print(
        f"\ncrash test (seed {SEED}): {kills} kills, {len(expected)} items, {len(alerts)} alerts, "
        f"{duplicates} duplicate webhook deliveries, {took:.1f} s"
    )
