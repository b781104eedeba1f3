"""Storing what :mod:`monitor.alerts.policy` decided of a match: alerts and outbox rows.

One alert per topic and story. :func:`record_match` reads what the database holds of the
match's topic (the alert with the same story key, the recent ones in the article's
language and, for a topic with an entity table, in the other languages), hands those
facts to the pure :func:`~monitor.alerts.policy.decide_match`, and writes its decision.
Runs inside the transaction that stores the poll (:mod:`monitor.storage.articles`) or
the replay (:mod:`monitor.storage.replay`), so the alert and its delivery rows commit
with the article or not at all. Also the alerts about the monitor itself (dead letters,
disabled channels). The rows themselves (an alert with its outbox rows, and back) are
:mod:`monitor.storage.alert_rows`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, text, update
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
from monitor.storage.alert_rows import (
    insert_alert,
)
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import AlertRow, ChannelStateRow, DeliveryRow
from monitor.storage.signals import held_or_confirmed, join_story
from monitor.storage.upsert import insert_ignore
from monitor.types import (
    Alert,
    Match,
    MatchedArticle,
)


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
            confirmed = join_story(conn, decision.joined.id, article.feed, policy, channels, now)
            if confirmed is not None:
                return StoryOutcome.CONFIRMS, confirmed
        return decision.outcome, None
    if decision.outcome is not StoryOutcome.NEW_STORY:
        return decision.outcome, None
    assert decision.alert is not None

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
        id=row.id,
        title=row.title,
        title_key=row.title_key or "",
        feeds=tuple(row.feeds or ()),
        language=row.language,
    )


def _story_facts(
    conn: Connection,
    topic: str,
    key: str,
    language: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> StoryFacts:
    columns = (AlertRow.id, AlertRow.feeds, AlertRow.title, AlertRow.title_key, AlertRow.language)
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
    others: tuple[KnownStory, ...] = ()
    if language and topic in policy.entity_tables:
        others = tuple(
            _known(c)
            for c in conn.execute(
                select(*columns)
                .where(
                    AlertRow.topic == topic,
                    AlertRow.kind == "topic",
                    AlertRow.detected_at >= now - policy.story_window,
                    AlertRow.language.is_not(None),
                    AlertRow.language != language,
                )
                .order_by(AlertRow.detected_at.desc())
                .limit(MAX_CANDIDATES)
            )
        )
    return StoryFacts(recent=tuple(_known(c) for c in candidates), other_languages=others)


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
