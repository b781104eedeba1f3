"""A database with a realistic number of alerts, for timing the read-only commands.

Writes ``monitor.yaml`` (the shipped configuration: its feeds and topics, a webhook
channel, the database and alert log in the folder) and a SQLite file with ALERTS alerts
of the shipped topics over 60 days, each with its article, its match, two outbox rows
(the alert log and the webhook) and outlets, plus a few mutes. Used by
``bench_cli_start.py``; run alone it builds the folder and prints the configuration's path:

    PYTHONPATH=. .venv/bin/python tests/benchmarks/alerts_db.py /tmp/alerts-db [--alerts N]
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert

from monitor import storage
from monitor.alerts.naming import channel_names
from monitor.config.load import load_config
from monitor.storage.alert_rows import LOG_CHANNEL
from monitor.storage.models import AlertRow, ArticleRow, DeliveryRow, FeedRow, MatchRow, MuteRow

REPO = Path(__file__).resolve().parents[2]
SPAN = timedelta(days=60)
_WORDS = (
    "Trump Putin summit Anchorage talks Ukraine ceasefire Kremlin White House envoy "
    "sanctions meeting delegation Zelensky Europe leaders peace council plan Moscow "
    "Washington Alaska negotiations security guarantees"
)
WORDS = tuple(_WORDS.split())


def write_config(folder: Path) -> Path:
    """The shipped configuration pointed at ``folder`` (and a webhook, as deployed)."""
    doc = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text("utf-8"))
    doc["database"] = f"sqlite:///{folder / 'monitor.db'}"
    doc["alert_log"] = str(folder / "alerts.jsonl")
    doc["notify"] = [{"webhook": "http://127.0.0.1:9/hook"}]
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def build(folder: Path, alerts: int = 10_000, seed: int = 7) -> Path:
    """Fill ``folder`` (made if missing) and return the configuration's path."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder)
    doc = yaml.safe_load(config.read_text("utf-8"))
    feeds = [f["name"] for f in doc["feeds"]]
    topics = [(t["id"], t.get("name", t["id"])) for t in doc["topics"]]
    channels = [LOG_CHANNEL] + [c.key for c in channel_names(load_config(config).notify)]
    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = storage.open_database(doc["database"])
    rows: dict[Any, list[dict[str, Any]]] = {
        FeedRow: [],
        ArticleRow: [],
        MatchRow: [],
        AlertRow: [],
        DeliveryRow: [],
        MuteRow: [],
    }
    for i, name in enumerate(feeds):
        rows[FeedRow].append(
            {
                "id": i + 1,
                "name": name,
                "url": doc["feeds"][i]["url"],
                "language": doc["feeds"][i].get("language"),
                "interval_s": 600.0,
                "enabled": True,
                "status": "ok",
                "http_status": 200,
                "last_poll": now - timedelta(minutes=i),
                "last_success": now - timedelta(minutes=i),
                "next_poll": now + timedelta(minutes=10 - i % 10),
            }
        )
    detected = sorted(now - SPAN * rng.random() for _ in range(alerts))
    for n, at in enumerate(detected):
        topic, topic_name = topics[n % len(topics)]
        words = rng.sample(WORDS, 9)
        title = " ".join(words).capitalize() + f" ({n})"
        summary = " ".join(rng.choice(WORDS) for _ in range(60))
        url = f"https://news.example.org/{at:%Y/%m/%d}/story-{n}"
        carried = rng.sample(feeds, rng.randint(1, 3))
        alert_id = f"{rng.getrandbits(128):032x}"
        rows[ArticleRow].append(
            {
                "id": n + 1,
                "feed_id": feeds.index(carried[0]) + 1,
                "article_key": f"{rng.getrandbits(256):064x}",
                "content_hash": f"{rng.getrandbits(256):064x}",
                "url": url,
                "link": url,
                "guid": url,
                "title": title,
                "summary": summary,
                "content": summary * 3,
                "language": "en",
                "published": at - timedelta(minutes=3),
                "fetched_at": at,
                "updated_at": at,
            }
        )
        evidence = [
            {"term": w, "field": "title", "offset": title.find(w), "snippet": title[:120]}
            for w in words[:3]
        ]
        rows[MatchRow].append(
            {
                "article_id": n + 1,
                "topic": topic,
                "score": 3.0,
                "evidence": evidence,
                "matched_at": at,
            }
        )
        rows[AlertRow].append(
            {
                "id": alert_id,
                "seq": int(at.timestamp() * 1_000_000),
                "kind": "topic",
                "topic": topic,
                "topic_name": topic_name,
                "story_key": url,
                "title_key": title.lower(),
                "article_id": n + 1,
                "title": title,
                "summary": summary[:300],
                "url": url,
                "feed": carried[0],
                "feeds": carried,
                "language": "en",
                "published": at - timedelta(minutes=3),
                "detected_at": at,
                "evidence": evidence,
                "outlets": [
                    {"feed": f, "at": (at + timedelta(minutes=k)).isoformat()}
                    for k, f in enumerate(carried)
                ],
            }
        )
        for channel in channels:
            rows[DeliveryRow].append(
                {
                    "alert_id": alert_id,
                    "channel": channel,
                    "status": "delivered",
                    "attempts": 1,
                    "next_attempt": at,
                    "created_at": at,
                    "delivered_at": at + timedelta(seconds=1),
                }
            )
    for k in range(5):
        rows[MuteRow].append(
            {
                "kind": "topic",
                "target": topics[k % len(topics)][0],
                "label": topics[k % len(topics)][1],
                "reason": "benchmark",
                "created_at": now - timedelta(days=k + 1),
                "until": now + timedelta(days=k - 2),
            }
        )
    with engine.begin() as conn:
        for table, table_rows in rows.items():
            for start in range(0, len(table_rows), 2000):
                conn.execute(insert(table), table_rows[start : start + 2000])
    engine.dispose()
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    print(build(args.folder, args.alerts))


if __name__ == "__main__":
    main()
