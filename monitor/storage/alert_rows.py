"""Alert rows: writing one alert with its outbox rows, and reading rows back as alerts.

The row level under :mod:`monitor.storage.story_alerts` (what a match becomes) and
:mod:`monitor.storage.signals` (confirmations, surges): the order of alerts (``seq``),
the delivery ids receivers see, the ``outlets`` column. It decides nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from monitor.storage.alert_values import row_to_alert
from monitor.storage.log_channel import LOG_CHANNEL
from monitor.storage.models import AlertRow, DeliveryRow
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert, format_time

__all__ = [
    "LOG_CHANNEL",
    "delivery_id",
    "insert_alert",
    "insert_alert_without_article",
    "insert_deliveries",
    "next_seq",
    "outlets_json",
    "row_to_alert",
]


class _Sequence:
    """The order of alerts (`monitor alerts`, `--follow`): the microseconds of the poll
    that raised them (``now``), plus one for each further alert of that same poll, so
    the alerts of one poll keep the order they were raised in, and polls the order they
    started in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._given: dict[int, int] = {}
        """poll's microseconds → the last seq given for it (the recent polls only)."""

    def next(self, now: datetime) -> int:
        base = int(now.timestamp() * 1_000_000)
        with self._lock:
            seq = self._given.get(base, base - 1) + 1
            self._given[base] = seq
            if len(self._given) > 4096:
                del self._given[next(iter(self._given))]
            return seq


next_seq = _Sequence().next


def delivery_id(alert: str, channel: str) -> str:
    """The idempotency id a receiver sees on every attempt (webhook-id)."""
    return "msg_" + hashlib.sha256(f"{alert}\n{channel}".encode()).hexdigest()[:24]


def insert_alert(
    conn: Connection,
    alert: Alert,
    *,
    story: str,
    title_key: str,
    language: str | None,
    article_id: int | None,
    channels: Sequence[tuple[str, frozenset[str] | None]],
    now: datetime,
    state: str | None = None,
    first_poll: Collection[str] = (),
) -> bool:
    """Store an alert, and its outbox rows unless it is held (``state``); ``first_poll``:
    the feeds whose time is a first poll's date (:func:`outlets_json`)."""
    values: dict[str, Any] = {
        "id": alert.id,
        "seq": next_seq(now),
        "kind": alert.kind,
        "topic": alert.topic,
        "topic_name": alert.topic_name,
        "story_key": story,
        "title_key": title_key,
        "article_id": article_id,
        "title": alert.title,
        "summary": alert.summary,
        "url": alert.url,
        "feed": alert.feed,
        "feeds": list(alert.feeds or (alert.feed,)),
        "language": language,
        "published": alert.published,
        "detected_at": alert.detected_at,
        "evidence": [e.to_json() for e in alert.evidence],
        "outlets": outlets_json(alert, first_poll),
        "state": state,
        "confirmed_by": list(alert.confirmed_by) or None,
        "confirmed_at": alert.confirmed_at,
    }
    inserted = conn.execute(
        insert_ignore(AlertRow, ["topic", "story_key"], list(values)), values
    ).rowcount
    if not inserted:
        return False
    if state is None:
        insert_deliveries(conn, alert, channels, now)
    return True


def insert_alert_without_article(
    conn: Connection,
    alert: Alert,
    *,
    story: str,
    channels: Sequence[tuple[str, frozenset[str] | None]],
    now: datetime,
    first_poll: Collection[str] = (),
) -> bool:
    """:func:`insert_alert` for an alert that no one article raised (a confirmation, a
    surge, an alert about the monitor itself): no title fingerprint, language or article.
    ``first_poll``: as for :func:`insert_alert` (a confirmation copies its story's
    outlets, flags and all; a surge's or the monitor's own alert has only its detection
    time, which no flag qualifies)."""
    return insert_alert(
        conn,
        alert,
        story=story,
        title_key="",
        language=None,
        article_id=None,
        channels=channels,
        now=now,
        first_poll=first_poll,
    )


FIRST_POLL = "first_poll"
"""Set (true) on a stored outlet whose time came from its feed's first poll: no earlier
poll bounds it from below (:func:`~monitor.types.first_poll_time`)."""


def outlets_json(alert: Alert, first_poll: Collection[str] = ()) -> list[dict[str, Any]]:
    """The stored form of ``alerts.outlets``: one entry per feed, with its outlet; the
    feeds in ``first_poll`` marked :data:`FIRST_POLL`."""
    sources = dict(alert.sources)
    entries: list[dict[str, Any]] = []
    for feed, at in alert.outlet_times():
        entry: dict[str, Any] = {"feed": feed, "at": format_time(at)}
        if feed in sources:
            entry.update(sources[feed].to_json())
        if feed in first_poll:
            entry[FIRST_POLL] = True
        entries.append(entry)
    return entries


def insert_deliveries(
    conn: Connection,
    alert: Alert,
    channels: Sequence[tuple[str, frozenset[str] | None]],
    now: datetime,
) -> None:
    """The outbox rows of an alert: the alert log and every channel that wants it."""
    names = [LOG_CHANNEL] + [
        name
        for name, topics in channels
        if alert.kind != "topic" or topics is None or alert.topic in topics
    ]
    conn.execute(
        insert(DeliveryRow),
        [
            {
                "alert_id": alert.id,
                "channel": name,
                "status": "pending",
                "attempts": 0,
                "next_attempt": now,
                "created_at": now,
            }
            for name in names
        ],
    )
