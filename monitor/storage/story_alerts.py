"""Storing what :mod:`monitor.alerts.policy` decided of a match: alerts and outbox rows.

One alert per topic and story. :func:`record_match` reads what the database holds of
the match's topic (the alert with the same story key, the recent ones in the article's
language), hands those facts to the pure :func:`~monitor.alerts.policy.decide_match`,
and writes its decision. Runs inside the transaction that stores the poll
(:mod:`monitor.storage.articles`) or the replay (:mod:`monitor.storage.replay`), so the
alert and its delivery rows commit with the article or not at all. Also the alerts about the
monitor itself (dead letters, disabled channels) and turning stored rows back into
:class:`~monitor.types.Alert` values.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from monitor.alerts.policy import (
    MAX_CANDIDATES,
    AlertPolicy,
    KnownStory,
    StoryFacts,
    StoryOutcome,
    decide_match,
    story_key,
)
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import AlertRow, ChannelStateRow, DeliveryRow
from monitor.storage.upsert import insert_ignore
from monitor.types import (
    Alert,
    Evidence,
    Match,
    MatchedArticle,
    OutletKind,
    Source,
    format_time,
)

LOG_CHANNEL = "log"


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


def record_match(
    conn: Connection,
    item: MatchedArticle,
    *,
    article_id: int,
    match: Match,
    policy: AlertPolicy,
    channels: Sequence[tuple[str, frozenset[str] | None]],
    now: datetime,
) -> tuple[StoryOutcome, Alert | None]:
    """Read what the topic's stories hold, let :func:`decide_match` decide, store that.

    Returns the outcome and, for a new story that this transaction stored, its alert.
    """
    article = item.article
    facts = _story_facts(conn, match.topic, story_key(article), article.language, policy, now)
    decision = decide_match(policy, item, match, facts, now)
    if decision.outcome is StoryOutcome.JOINS_STORY:
        assert decision.joined is not None
        if article.feed not in decision.joined.feeds:
            from monitor.storage.signals import join_story

            confirmed = join_story(conn, decision.joined.id, article.feed, policy, channels, now)
            if confirmed is not None:
                return StoryOutcome.CONFIRMS, confirmed
        return decision.outcome, None
    if decision.outcome is not StoryOutcome.NEW_STORY:
        return decision.outcome, None
    assert decision.alert is not None
    from monitor.storage.signals import held_or_confirmed

    alert, state = held_or_confirmed(decision.alert, policy, now)
    if insert_alert(
        conn,
        alert,
        story=decision.story_key,
        title_key=decision.title_key,
        language=article.language,
        article_id=article_id,
        channels=channels,
        now=now,
        state=state,
    ):
        if state is not None:
            return StoryOutcome.HELD, None
        return decision.outcome, alert
    return StoryOutcome.JOINS_STORY, None  # another worker raised it a moment ago


def _known(row: Any) -> KnownStory:
    return KnownStory(
        id=row.id, title=row.title, title_key=row.title_key or "", feeds=tuple(row.feeds or ())
    )


def _story_facts(
    conn: Connection,
    topic: str,
    key: str,
    language: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> StoryFacts:
    columns = (AlertRow.id, AlertRow.feeds, AlertRow.title, AlertRow.title_key)
    row = conn.execute(
        select(*columns).where(AlertRow.topic == topic, AlertRow.story_key == key)
    ).first()
    if row is not None:
        return StoryFacts(same_url=_known(row))
    candidates = conn.execute(
        select(*columns)
        .where(
            AlertRow.topic == topic,
            AlertRow.kind == "topic",
            AlertRow.detected_at >= now - policy.story_window,
            AlertRow.language == language if language else AlertRow.language.is_(None),
        )
        .order_by(AlertRow.detected_at.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    return StoryFacts(recent=tuple(_known(c) for c in candidates))


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
) -> bool:
    """Store an alert, and its outbox rows unless it is held (``state``)."""
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
        "outlets": outlets_json(alert),
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


def outlets_json(alert: Alert) -> list[dict[str, Any]]:
    """The stored form of ``alerts.outlets``: one entry per feed, with its outlet."""
    sources = dict(alert.sources)
    entries: list[dict[str, Any]] = []
    for feed, at in alert.outlet_times():
        entry: dict[str, Any] = {"feed": feed, "at": format_time(at)}
        if feed in sources:
            entry.update(sources[feed].to_json())
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
        sources=_sources(getattr(row, "outlets", None)),
        confirmed_by=tuple(str(o) for o in (getattr(row, "confirmed_by", None) or ())),
        confirmed_at=getattr(row, "confirmed_at", None),
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


def _sources(value: Any) -> tuple[tuple[str, Source], ...]:
    found: list[tuple[str, Source]] = []
    for item in value or ():
        if not isinstance(item, dict) or not isinstance(item.get("outlet"), str):
            continue
        kind = item.get("kind")
        country = item.get("country")
        source = Source(
            outlet=item["outlet"],
            kind=OutletKind(str(kind)) if kind in OutletKind._value2member_map_ else None,
            country=country if isinstance(country, str) else None,
        )
        found.append((str(item.get("feed")), source))
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
