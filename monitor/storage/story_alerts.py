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

import functools
import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import BindParameter

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
    insert_alert_without_article,
)
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import AlertRow, ChannelStateRow, DeliveryRow
from monitor.storage.signals import held_or_confirmed, join_story
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert, Match, MatchedArticle, carried_time


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
    since: datetime | None = None,
) -> tuple[StoryOutcome, Alert | None]:
    """Read what the topic's stories hold, let :func:`decide_match` decide, store that.
    ``since``: the feed's last successful poll before this one (see
    :func:`~monitor.types.carried_time`).

    Returns the outcome and, for a new story that this transaction stored, its alert.
    """
    article = item.article
    facts = _story_facts(conn, match.topic, story_key(article), article.language, policy, now)
    decision = decide_match(policy, item, match, facts, now, since=since)
    if decision.outcome is StoryOutcome.JOINS_STORY:
        assert decision.joined is not None
        # A feed that carried the story already is not added again (join_story checks).
        carried = carried_time(article.published, now, since)
        confirmed = join_story(
            conn,
            decision.joined.id,
            article.feed,
            policy,
            channels,
            now,
            carried=carried,
            first_poll=since is None,
        )
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
        # no earlier poll bounds this outlet's time from below
        first_poll=(article.feed,) if since is None else (),
    ):
        if state is not None:
            return StoryOutcome.HELD, None
        return decision.outcome, alert
    return StoryOutcome.JOINS_STORY, None  # another worker raised it a moment ago


def _known(row: Any) -> KnownStory:
    # No ``feeds``: a story's list of feeds grows with every feed that carries it, and
    # decoding it for each of up to MAX_CANDIDATES candidates, on every match, made
    # storing a poll quadratic in the story's size. Only the joined story's matters
    # (whether this feed carried it already), and join_story reads that one.
    return KnownStory(
        id=row.id, title=row.title, title_key=row.title_key or "", language=row.language
    )


_COLUMNS = (AlertRow.id, AlertRow.title, AlertRow.title_key, AlertRow.language)


@functools.cache
def _facts_statements() -> tuple[Select[Any], Select[Any], Select[Any], Select[Any]]:
    """The statements of :func:`_story_facts`, built once: they run for every match."""
    topic: BindParameter[str] = bindparam("topic")
    since: BindParameter[datetime] = bindparam("since")
    language: BindParameter[str] = bindparam("language")
    same_url = select(*_COLUMNS).where(
        AlertRow.topic == topic, AlertRow.story_key == bindparam("key")
    )
    recent = (
        select(*_COLUMNS)
        .where(AlertRow.topic == topic, AlertRow.kind == "topic", AlertRow.detected_at >= since)
        .order_by(AlertRow.detected_at.desc())
        .limit(MAX_CANDIDATES)
    )
    return (
        same_url,
        recent.where(AlertRow.language == language),
        recent.where(AlertRow.language.is_(None)),
        recent.where(AlertRow.language.is_not(None), AlertRow.language != language),
    )


def _story_facts(
    conn: Connection,
    topic: str,
    key: str,
    language: str | None,
    policy: AlertPolicy,
    now: datetime,
) -> StoryFacts:
    same_url, in_language, no_language, other_languages = _facts_statements()
    row = conn.execute(same_url, {"topic": topic, "key": key}).first()
    if row is not None:
        return StoryFacts(same_url=_known(row))
    since = now - policy.story_window
    if language:
        candidates = conn.execute(
            in_language, {"topic": topic, "since": since, "language": language}
        ).all()
    else:
        candidates = conn.execute(no_language, {"topic": topic, "since": since}).all()
    others: tuple[KnownStory, ...] = ()
    if language and topic in policy.entity_tables:
        others = tuple(
            _known(c)
            for c in conn.execute(
                other_languages, {"topic": topic, "since": since, "language": language}
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
        return insert_alert_without_article(
            conn, alert, story=alert.id, channels=policy.channels, now=now
        )
