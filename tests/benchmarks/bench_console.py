"""The web console on real volume: 50,000 articles and 5,000 alerts in a SQLite file.

Every page is fetched over HTTP from the console served on 127.0.0.1 (uvicorn in a
thread, as `monitor web` and `monitor run` serve it); its time is the median of REPS
requests, beside the floor: the bare storage query the page needs, timed the same way.
The target is under 300 ms a page. Run from the repository root:

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_console.py [--reps N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from monitor import storage
from monitor.config.load import load_config
from monitor.storage.console import list_stories, load_story, topic_timeline
from monitor.storage.models import AlertRow, ArticleRow, DeliveryRow, FeedRow, MatchRow
from monitor.web import Console, WebServer, create_app

ARTICLES = 50_000
ALERTS = 5_000
FEEDS = 24
TOPICS = ("trump-putin-summit", "peace-council")
NOW = datetime.now(UTC)  # the pages read the clock: the data ends now
SPAN = timedelta(days=30)


def _populate(url: str, rng: random.Random) -> list[str]:
    engine = storage.open_database(url)
    feeds = [f"outlet-{i:02d}" for i in range(FEEDS)]
    with engine.begin() as conn:
        conn.execute(
            insert(FeedRow),
            [
                {
                    "id": i + 1,
                    "name": name,
                    "url": f"https://feeds.example.org/{name}.xml",
                    "interval_s": 600.0,
                    "enabled": True,
                    "status": "error" if i % 7 == 0 else "ok",
                    "errors": 3 if i % 7 == 0 else 0,
                    "last_error": "HTTP 503" if i % 7 == 0 else None,
                    "last_poll": NOW,
                    "last_success": NOW - timedelta(minutes=i),
                    "next_poll": NOW + timedelta(minutes=10),
                }
                for i, name in enumerate(feeds)
            ],
        )
        articles, matches, alerts, deliveries = [], [], [], []
        story_urls = [f"https://news.example.org/story/{n}" for n in range(ALERTS)]
        for n in range(ARTICLES):
            fetched = NOW - SPAN * rng.random()
            # Three articles in ten carry one of the alerted stories (another outlet's
            # copy of the same URL); the rest are stories of their own.
            url = story_urls[n % ALERTS] if n < ALERTS * 3 else f"https://x.example.org/{n}"
            topic = TOPICS[n % 2]
            articles.append(
                {
                    "id": n + 1,
                    "feed_id": rng.randrange(FEEDS) + 1,
                    "article_key": f"k{n}",
                    "content_hash": f"h{n}",
                    "url": url,
                    "link": url,
                    "title": f"Trump and Putin meet for summit in Anchorage, report {n}",
                    "summary": "Trump and Putin held a summit in Anchorage. " * 8,
                    "content": "",
                    "published": fetched - timedelta(minutes=5),
                    "fetched_at": fetched,
                    "updated_at": fetched,
                }
            )
            if n % 5 < 2 or n < ALERTS * 3:
                matches.append(
                    {
                        "article_id": n + 1,
                        "topic": topic,
                        "score": 3.0,
                        "evidence": [
                            {
                                "term": "Anchorage",
                                "field": "title",
                                "offset": 31,
                                "snippet": f"…meet for summit in Anchorage, report {n}",
                            }
                        ],
                        "matched_at": fetched,
                    }
                )
        for n in range(ALERTS):
            first = articles[n]
            detected = first["fetched_at"]
            alert_id = f"{n:032x}"
            alerts.append(
                {
                    "id": alert_id,
                    "seq": int(detected.timestamp() * 1_000_000) + n,
                    "kind": "topic",
                    "topic": TOPICS[n % 2],
                    "topic_name": TOPICS[n % 2],
                    "story_key": story_urls[n],
                    "title_key": "",
                    "article_id": n + 1,
                    "title": first["title"],
                    "summary": first["summary"][:500],
                    "url": story_urls[n],
                    "feed": feeds[first["feed_id"] - 1],
                    "feeds": sorted(
                        {feeds[articles[n + k * ALERTS]["feed_id"] - 1] for k in range(3)}
                    ),
                    "language": "en",
                    "published": first["published"],
                    "detected_at": detected,
                    "evidence": [
                        {"term": t, "field": "title", "offset": 0, "snippet": first["title"]}
                        for t in ("Trump", "Putin", "summit", "Anchorage")
                    ],
                }
            )
            for channel in ("log", "webhook:0123456789"):
                deliveries.append(
                    {
                        "alert_id": alert_id,
                        "channel": channel,
                        "status": "delivered",
                        "attempts": 1,
                        "next_attempt": detected,
                        "created_at": detected,
                        "delivered_at": detected + timedelta(seconds=2),
                    }
                )
        for table, rows in (
            (ArticleRow, articles),
            (MatchRow, matches),
            (AlertRow, alerts),
            (DeliveryRow, deliveries),
        ):
            for start in range(0, len(rows), 2000):
                conn.execute(insert(table), rows[start : start + 2000])
    engine.dispose()
    return [a["id"] for a in alerts]


def _median_ms(func: Callable[[], Any], reps: int) -> float:
    func()  # warm: templates compiled, statements cached, pages in the OS cache
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'console.db'}"
        started = time.perf_counter()
        ids = _populate(url, rng)
        print(
            f"populated {ARTICLES:,} articles, {ALERTS:,} alerts in "
            f"{time.perf_counter() - started:.1f}s"
        )
        config = load_config(Path("config/monitor.yaml"), env={})
        engine = storage.open_database(url)
        console = Console(engine=engine, topics=tuple(config.topics))
        mid_seq = 0
        rows = list_stories(engine, limit=ALERTS // 2)
        mid_seq = rows[-1].seq
        story = ids[ALERTS // 3]
        since7 = NOW - timedelta(days=7)
        since90 = NOW - timedelta(days=90)
        pages: list[tuple[str, Callable[[], Any]]] = [
            ("/", lambda: list_stories(engine)),
            (f"/?topic={TOPICS[0]}", lambda: list_stories(engine, topic=TOPICS[0])),
            ("/?feed=outlet-07", lambda: list_stories(engine, feed="outlet-07")),
            (f"/?before={mid_seq}", lambda: list_stories(engine, before_seq=mid_seq)),
            (f"/stories/{story}", lambda: load_story(engine, story)),
            (
                f"/topics/{TOPICS[0]}?since=7d",
                lambda: topic_timeline(engine, TOPICS[0], since=since7, until=NOW, unit="day"),
            ),
            (
                f"/topics/{TOPICS[0]}?since=3d&unit=hour",
                lambda: topic_timeline(
                    engine, TOPICS[0], since=NOW - timedelta(days=3), until=NOW, unit="hour"
                ),
            ),
            (
                f"/topics/{TOPICS[0]}?since=90d",
                lambda: topic_timeline(engine, TOPICS[0], since=since90, until=NOW, unit="day"),
            ),
            ("/feeds", lambda: storage.list_feed_status(engine, include_disabled=True)),
            ("/alerts.atom", lambda: storage.list_alerts(engine, limit=50)),
            (
                f"/alerts.json?topic={TOPICS[1]}",
                lambda: storage.list_alerts(engine, topic=TOPICS[1], limit=50),
            ),
        ]
        with (
            WebServer("127.0.0.1:0", create_app(console)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            print(f"\n| page | page ms (median of {args.reps}) | floor: bare query ms | bytes |")
            print("|---|---:|---:|---:|")
            for path, floor in pages:
                size = len(client.get(path).content)
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                page_ms = _median_ms(lambda p=path: client.get(p), args.reps)  # type: ignore[misc]
                floor_ms = _median_ms(floor, args.reps)
                flag = "" if page_ms < 300 else "  ← over 300 ms"
                print(f"| `{path}` | {page_ms:.1f} | {floor_ms:.1f} | {size:,} |{flag}")
        engine.dispose()


if __name__ == "__main__":
    main()
