"""Alerts written straight into the outbox, as a poll would, for the delivery tests.

Lets a test raise a hundred alerts at chosen detection times without feeds, so what it
checks is delivery alone: digests, rates, mutes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from monitor.alerts.naming import channel_names
from monitor.config.load import load_config
from monitor.storage import open_database
from monitor.storage.alert_rows import insert_alert
from monitor.storage.database import write_transaction
from monitor.types import Alert, Evidence


def topic_alert(n: int, at: datetime, topic: str = "trump-putin-summit") -> Alert:
    return Alert(
        id=f"alert-{n:03d}",
        topic=topic,
        topic_name="Trump–Putin summit" if topic == "trump-putin-summit" else "Board of Peace",
        title=f"Story {n}: Trump and Putin <b>meet</b> in Anchorage",
        url=f"https://example.org/news/{n}",
        feed="tass-en",
        feeds=("tass-en",),
        published=at,
        detected_at=at,
        evidence=(Evidence("Anchorage", "title", 30, "…meet in Anchorage…"),),
    )


def raise_alerts(config: Path, alerts: list[Alert]) -> None:
    """Store alerts and their outbox rows as a poll does, each at its detection time."""
    cfg = load_config(config)
    channels = tuple((n.key, None) for n in channel_names(cfg.notify))
    engine = open_database(cfg.database)
    try:
        for alert in alerts:
            with write_transaction(engine) as conn:
                insert_alert(
                    conn,
                    alert,
                    story=alert.url or alert.id,
                    title_key="",
                    language="en",
                    article_id=None,
                    channels=channels,
                    now=alert.detected_at,
                )
    finally:
        engine.dispose()
