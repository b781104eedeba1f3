"""The web console's read-only queries: stories with their outlets, one story in full,
a topic's matches over time.

Every function only reads (one short connection each) and returns frozen values of
this module or :mod:`monitor.types`; nothing here writes, decides which article of a
feed belongs to a story by its title (:mod:`monitor.web.stories` does), or formats.

A story is a topic alert. Its articles are the ones whose canonical URL is the story's
key, or the one that raised it; a feed that joined the story with a near-identical
headline under another URL is only named in the alert's ``feeds``, so for the story
page its matched articles around the alert's time come back as *candidates*.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, literal_column, or_, select
from sqlalchemy.engine import Connection, Engine

from monitor.storage.alert_rows import row_to_alert
from monitor.storage.database import translates_errors
from monitor.storage.models import AlertRow, ArticleRow, DeliveryRow, FeedRow, MatchRow
from monitor.types import Alert, Evidence, carried_time

__all__ = [
    "DeliveryState",
    "OutletArticle",
    "StoryDetail",
    "StoryRow",
    "TimelineCount",
    "list_stories",
    "load_story",
    "topic_timeline",
]

CANDIDATE_BEFORE = timedelta(days=2)
CANDIDATE_AFTER = timedelta(days=7)
MAX_CANDIDATES = 200


@dataclass(frozen=True, slots=True)
class OutletArticle:
    """One stored article of a story, as one outlet (feed) carried it."""

    feed: str
    article_id: int
    title: str
    url: str | None
    published: datetime | None
    first_seen: datetime
    evidence: tuple[Evidence, ...]

    @property
    def carried_at(self) -> datetime:
        """When the outlet carried it: its own date, unless that lies after we saw it
        (the same rule as an alert's outlets: :func:`~monitor.types.carried_time`)."""
        return carried_time(self.published, self.first_seen)


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """One channel's outbox row for an alert."""

    channel: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story in a list: its alert and the articles linked to it by URL."""

    seq: int
    alert: Alert
    articles: tuple[OutletArticle, ...]


@dataclass(frozen=True, slots=True)
class StoryDetail:
    alert: Alert
    articles: tuple[OutletArticle, ...]
    candidates: tuple[OutletArticle, ...]
    """Matched articles of the alert's other feeds near its time (joined by headline)."""
    deliveries: tuple[DeliveryState, ...]


@dataclass(frozen=True, slots=True)
class TimelineCount:
    bucket: datetime
    feed: str
    count: int


def _evidence(raw: Any) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(
            term=str(e.get("term", "")),
            field=str(e.get("field", "")),
            offset=int(e.get("offset", 0) or 0),
            snippet=str(e.get("snippet", "")),
        )
        for e in (raw or [])
        if isinstance(e, dict)
    )


def _outlet_article(r: Any) -> OutletArticle:
    return OutletArticle(
        feed=r.feed_name,
        article_id=int(r.article_id),
        title=r.title,
        url=r.url or r.link,
        published=r.published,
        first_seen=r.fetched_at,
        evidence=_evidence(r.evidence),
    )


def _article_columns() -> tuple[Any, ...]:
    return (
        ArticleRow.id.label("article_id"),
        ArticleRow.url,
        ArticleRow.link,
        ArticleRow.title,
        ArticleRow.published,
        ArticleRow.fetched_at,
        FeedRow.name.label("feed_name"),
        MatchRow.evidence,
    )


def _linked_articles(
    conn: Connection, stories: Sequence[tuple[str, str, str, int | None]]
) -> dict[str, list[OutletArticle]]:
    """alert id → its articles by URL (or the one that raised it), by when carried."""
    if not stories:
        return {}
    keys = {key for _, _, key, _ in stories}
    ids = {aid for _, _, _, aid in stories if aid is not None}
    topics = {topic for _, topic, _, _ in stories}
    query = (
        select(*_article_columns(), MatchRow.topic)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .outerjoin(
            MatchRow,
            and_(MatchRow.article_id == ArticleRow.id, MatchRow.topic.in_(topics)),
        )
        .where(or_(ArticleRow.url.in_(keys), ArticleRow.id.in_(ids)))
    )
    rows = conn.execute(query).all()
    found: dict[str, list[OutletArticle]] = {}
    for alert, topic, key, aid in stories:
        seen: set[int] = set()
        mine = found.setdefault(alert, [])
        for r in rows:
            if (r.url == key or r.article_id == aid) and r.article_id not in seen:
                if r.topic not in (None, topic):
                    continue
                seen.add(r.article_id)
                mine.append(_outlet_article(r))
        mine.sort(key=lambda a: (a.carried_at, a.feed))
    return found


def _feed_filter(feed: str) -> Any:
    # The feed list is JSON (portable on SQLite and PostgreSQL): the text search narrows
    # the rows; the exact test on the decoded list follows in Python.
    return or_(
        AlertRow.feed == feed,
        cast(AlertRow.feeds, String).contains(json.dumps(feed), autoescape=True),
    )


@translates_errors
def list_stories(
    engine: Engine,
    *,
    topic: str | None = None,
    feed: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[StoryRow]:
    """The newest topic alerts (newest first), at most ``limit``, older than
    ``before_seq`` when given (the next page), each with its URL-linked articles."""
    query = select(AlertRow.__table__).where(AlertRow.kind == "topic")
    if topic is not None:
        query = query.where(AlertRow.topic == topic)
    if feed is not None:
        query = query.where(_feed_filter(feed))
    if since is not None:
        query = query.where(AlertRow.detected_at >= since)
    if until is not None:
        query = query.where(AlertRow.detected_at < until)
    if before_seq is not None:
        query = query.where(AlertRow.seq < before_seq)
    query = query.order_by(AlertRow.seq.desc(), AlertRow.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [r for r in conn.execute(query).all() if feed is None or _carried(r, feed)]
        linked = _linked_articles(conn, [(r.id, r.topic, r.story_key, r.article_id) for r in rows])
    return [
        StoryRow(seq=int(r.seq), alert=row_to_alert(r), articles=tuple(linked.get(r.id, ())))
        for r in rows
    ]


def _carried(row: Any, feed: str) -> bool:
    return bool(row.feed == feed or feed in (row.feeds or []))


@translates_errors
def load_story(engine: Engine, alert: str) -> StoryDetail | None:
    """One alert with its articles, the candidates of its other feeds, its deliveries."""
    with engine.connect() as conn:
        row = conn.execute(select(AlertRow.__table__).where(AlertRow.id == alert)).first()
        if row is None:
            return None
        articles = _linked_articles(conn, [(row.id, row.topic, row.story_key, row.article_id)])[
            row.id
        ]
        have = {a.feed for a in articles}
        missing = [f for f in (row.feeds or []) if f not in have]
        candidates: list[OutletArticle] = []
        if missing and row.kind == "topic":
            query = (
                select(*_article_columns())
                .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                .join(
                    MatchRow,
                    and_(MatchRow.article_id == ArticleRow.id, MatchRow.topic == row.topic),
                )
                .where(
                    FeedRow.name.in_(missing),
                    ArticleRow.fetched_at >= row.detected_at - CANDIDATE_BEFORE,
                    ArticleRow.fetched_at <= row.detected_at + CANDIDATE_AFTER,
                )
                .order_by(ArticleRow.fetched_at)
                .limit(MAX_CANDIDATES)
            )
            candidates = [_outlet_article(r) for r in conn.execute(query).all()]
        deliveries = conn.execute(
            select(DeliveryRow.__table__)
            .where(DeliveryRow.alert_id == row.id)
            .order_by(DeliveryRow.channel)
        ).all()
    return StoryDetail(
        alert=row_to_alert(row),
        articles=tuple(articles),
        candidates=tuple(candidates),
        deliveries=tuple(
            DeliveryState(
                channel=d.channel,
                status=d.status,
                attempts=int(d.attempts),
                last_error=d.last_error,
                next_attempt=d.next_attempt,
                delivered_at=d.delivered_at,
            )
            for d in deliveries
        ),
    )


def _bucket_expression(dialect: str, unit: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(
            func.date_trunc(unit, func.timezone("UTC", ArticleRow.fetched_at)),
            "YYYY-MM-DD HH24",
        )
    # SQLite keeps naive UTC text, 'YYYY-MM-DD HH:MM:SS…': the prefix is the bucket.
    return func.substr(ArticleRow.fetched_at, 1, 13 if unit == "hour" else 10)


@translates_errors
def topic_timeline(
    engine: Engine, topic: str, *, since: datetime, until: datetime, unit: str
) -> list[TimelineCount]:
    """The topic's matched articles per ``unit`` (hour or day) of first sight and feed."""
    if unit not in ("hour", "day"):
        raise ValueError(f"unit must be hour or day, not {unit!r}")
    with engine.connect() as conn:
        bucket = _bucket_expression(conn.dialect.name, unit).label("bucket")
        query = (
            select(bucket, FeedRow.name.label("feed"), func.count().label("n"))
            .select_from(MatchRow)
            .join(ArticleRow, ArticleRow.id == MatchRow.article_id)
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .where(
                MatchRow.topic == topic,
                ArticleRow.fetched_at >= since,
                ArticleRow.fetched_at < until,
            )
            .group_by(literal_column("bucket"), FeedRow.name)
        )
        rows = conn.execute(query).all()
    return [
        TimelineCount(bucket=_parse_bucket(str(r.bucket)), feed=r.feed, count=int(r.n))
        for r in rows
    ]


def _parse_bucket(text: str) -> datetime:
    from datetime import UTC

    text = text.strip().replace("T", " ")
    if len(text) == 10:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.strptime(text[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)
