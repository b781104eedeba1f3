"""Whether a match is a new story, and the alerts and outbox rows that follow.

One alert per topic and story: the same canonical URL (or the feed and identity key
of an article without one), or a near-identical title within the story window (the
verdict is :mod:`monitor.alerts.stories`', through :class:`AlertPolicy`). Runs inside the
transaction that stores the poll (:mod:`monitor.storage.articles`), so the alert and
its delivery rows commit with the article or not at all. Also the alerts about the
monitor itself (dead letters, disabled channels) and turning stored rows back into
:class:`~monitor.types.Alert` values.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import AlertRow, ChannelStateRow, DeliveryRow
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert, Article, Evidence, Match, MatchedArticle, format_time

LOG_CHANNEL = "log"

SameStory = Callable[[str, str, str, str | None], bool]
"""(topic, title, other title, language) → whether the titles tell one story."""


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How matches become alerts, and where alerts go."""

    channels: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """(channel name, topics it wants or None for all), besides the alert log."""
    max_age: timedelta = timedelta(days=2)
    topic_names: Mapping[str, str] = field(default_factory=dict)
    story_window: timedelta = timedelta(hours=48)
    same_story: SameStory | None = None
    same_fingerprint: Callable[[str, str, str], bool] | None = None
    """``same_story`` on stored title fingerprints (``MatchedArticle.title_key``): the
    same verdict without re-fingerprinting up to 500 recent alerts per match."""
    raise_alerts: bool = True
    """False for `monitor poll --catch-up`: store and match, alert nothing."""


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


def alert_id(topic: str, story_key: str) -> str:
    """Deterministic, so two workers racing on one story agree on the id."""
    return hashlib.sha256(f"{topic}\n{story_key}".encode()).hexdigest()[:32]


def delivery_id(alert: str, channel: str) -> str:
    """The idempotency id a receiver sees on every attempt (webhook-id)."""
    return "msg_" + hashlib.sha256(f"{alert}\n{channel}".encode()).hexdigest()[:24]


STORY_KEY_MAX = 200
"""The width of ``alerts.story_key``; PostgreSQL refuses anything longer."""


def story_key(article: Article) -> str:
    """The article's canonical URL (or its feed and identity key when it has none);
    a longer one than the column takes is replaced by its digest."""
    key = article.url or f"{article.feed}:{article.article_key}"
    if len(key) <= STORY_KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@translates_errors
def lock_topics(conn: Connection, topics: Iterable[str]) -> None:
    """Serialize story decisions per topic across workers (PostgreSQL).

    Two workers storing near-duplicate headlines with different URLs at the same moment
    would each find no story yet and each raise an alert. A transaction-scoped advisory
    lock per topic, taken in sorted order (no deadlock), makes the second one see the
    first one's alert. SQLite serializes writers already.
    """
    if conn.dialect.name != "postgresql":
        return
    for topic in sorted(set(topics)):
        key = int.from_bytes(
            hashlib.sha256(f"topic:{topic}".encode()).digest()[:8], "big", signed=True
        )
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def raise_story_alert(
    conn: Connection,
    item: MatchedArticle,
    *,
    article_id: int,
    match: Match,
    policy: AlertPolicy,
    channels: Sequence[tuple[str, frozenset[str] | None]],
    now: datetime,
) -> Alert | str:
    article = item.article
    key = story_key(article)
    row = conn.execute(
        select(AlertRow.id, AlertRow.feeds, AlertRow.outlets).where(
            AlertRow.topic == match.topic, AlertRow.story_key == key
        )
    ).first()
    if row is None and policy.same_story is not None:
        row = _similar_story(conn, item, match.topic, policy, now)
    if row is not None:
        feeds = list(row.feeds or [])
        if article.feed not in feeds:
            outlets = list(row.outlets or [])
            outlets.append({"feed": article.feed, "at": format_time(now)})
            conn.execute(
                update(AlertRow)
                .where(AlertRow.id == row.id)
                .values(feeds=[*feeds, article.feed], outlets=outlets)
            )
        return "linked"
    if not policy.raise_alerts:
        return "catch_up"
    if article.published is not None and article.published < now - policy.max_age:
        return "old"
    alert = Alert(
        id=alert_id(match.topic, key),
        topic=match.topic,
        topic_name=policy.topic_names.get(match.topic, match.topic),
        title=article.title,
        url=article.url or article.link,
        feed=article.feed,
        published=article.published,
        detected_at=now,
        evidence=match.evidence,
        feeds=(article.feed,),
        summary=article.summary[:500],
    )
    if insert_alert(
        conn,
        alert,
        story=key,
        title_key=item.title_key or article.title,
        language=article.language,
        article_id=article_id,
        channels=channels,
        now=now,
    ):
        return alert
    return "linked"  # another worker raised it a moment ago


def _similar_story(
    conn: Connection, item: MatchedArticle, topic: str, policy: AlertPolicy, now: datetime
) -> Any:
    assert policy.same_story is not None
    article = item.article
    since = now - policy.story_window
    candidates = conn.execute(
        select(AlertRow.id, AlertRow.feeds, AlertRow.outlets, AlertRow.title, AlertRow.title_key)
        .where(
            AlertRow.topic == topic,
            AlertRow.kind == "topic",
            AlertRow.detected_at >= since,
            AlertRow.language == article.language
            if article.language
            else AlertRow.language.is_(None),
        )
        .order_by(AlertRow.detected_at.desc())
        .limit(500)
    ).all()
    fingerprint = item.title_key if policy.same_fingerprint is not None else None
    for cand in candidates:
        if fingerprint and cand.title_key:
            assert policy.same_fingerprint is not None
            if policy.same_fingerprint(topic, fingerprint, cand.title_key):
                return cand
        elif policy.same_story(topic, article.title, cand.title, article.language):
            return cand
    return None


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
) -> bool:
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
        "outlets": [{"feed": f, "at": format_time(t)} for f, t in alert.outlet_times()],
    }
    inserted = conn.execute(
        insert_ignore(AlertRow, ["topic", "story_key"], list(values)), values
    ).rowcount
    if not inserted:
        return False
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
    return True


def row_to_alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        kind=row.kind,
        topic=row.topic,
        topic_name=row.topic_name,
        title=row.title,
        url=row.url,
        feed=row.feed,
        feeds=tuple(row.feeds or ()),
        published=row.published,
        detected_at=row.detected_at,
        summary=row.summary or "",
        outlets=_outlets(getattr(row, "outlets", None)),
        evidence=tuple(
            Evidence(
                term=str(e.get("term", "")),
                field=str(e.get("field", "")),
                offset=int(e.get("offset", 0) or 0),
                snippet=str(e.get("snippet", "")),
            )
            for e in (row.evidence or [])
        ),
    )


def _outlets(value: Any) -> tuple[tuple[str, datetime | None], ...]:
    found: list[tuple[str, datetime | None]] = []
    for item in value or ():
        if not isinstance(item, dict) or not isinstance(item.get("feed"), str):
            continue
        at = item.get("at")
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None
        except (AttributeError, ValueError):
            when = None
        found.append((item["feed"], when))
    return tuple(found)


@translates_errors
def mark_channel_disabled(engine: Engine, channel: str, reason: str, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            insert_ignore(ChannelStateRow, ["channel"], ["channel", "disabled_at", "reason"]),
            {"channel": channel, "disabled_at": now, "reason": reason},
        )
        conn.execute(
            update(ChannelStateRow)
            .where(ChannelStateRow.channel == channel)
            .values(disabled_at=now, reason=reason)
        )
        conn.execute(
            update(DeliveryRow)
            .where(and_(DeliveryRow.channel == channel, DeliveryRow.status == "pending"))
            .values(status="skipped", last_error=f"channel disabled: {reason}")
        )


@translates_errors
def save_operator_alert(engine: Engine, alert: Alert, policy: AlertPolicy, now: datetime) -> bool:
    """Store an alert about the monitor itself (dead letters, disabled channels)."""
    with write_transaction(engine) as conn:
        return insert_alert(
            conn,
            alert,
            story=alert.id,
            title_key="",
            language=None,
            article_id=None,
            channels=policy.channels,
            now=now,
        )
