"""Stored articles for `monitor replay`, and applying what a replay decided.

Reading streams articles in batches (memory stays flat over a large database);
applying adds and drops matches, and raises alerts for added ones when asked,
with the same one-alert-per-story decision as polling (:mod:`monitor.alerts.policy`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.engine import Engine

from monitor.alerts.policy import AlertPolicy, matched_article
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import ArticleRow, ChannelStateRow, FeedRow, MatchRow
from monitor.storage.story_alerts import lock_topics, record_match
from monitor.types import Alert, Article, Match


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article: Article
    topics: frozenset[str]
    """Topics stored as matching this article now."""
    fetched_at: datetime | None = None
    """When the article was first stored (its date for the topics when it has none)."""
    from_page: frozenset[str] = frozenset()
    """Of those, the ones with evidence from the article's page (full text): the page is
    not stored, so a replay cannot judge them again."""


@translates_errors
def _read_batch(
    engine: Engine, query: Select[Any]
) -> tuple[list[Any], dict[int, set[str]], dict[int, set[str]]]:
    with engine.connect() as conn:
        rows = list(conn.execute(query).all())
        topics: dict[int, set[str]] = {}
        from_page: dict[int, set[str]] = {}
        if rows:
            for article_id, topic, evidence in conn.execute(
                select(MatchRow.article_id, MatchRow.topic, MatchRow.evidence).where(
                    MatchRow.article_id.in_([r.id for r in rows])
                )
            ).all():
                topics.setdefault(article_id, set()).add(topic)
                if any(isinstance(e, dict) and e.get("field") == "article" for e in evidence or ()):
                    from_page.setdefault(article_id, set()).add(topic)
    return rows, topics, from_page


def iter_stored_articles(
    engine: Engine, *, since: datetime | None = None, batch: int = 500
) -> Iterator[StoredArticle]:
    """Every stored article (fetched since ``since``), oldest first, with its matches."""
    last_id = 0
    while True:
        query = (
            select(ArticleRow.__table__, FeedRow.name.label("feed_name"))
            .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
            .where(ArticleRow.id > last_id)
            .order_by(ArticleRow.id)
            .limit(batch)
        )
        if since is not None:
            query = query.where(ArticleRow.fetched_at >= since)
        rows, topics, from_page = _read_batch(engine, query)
        if not rows:
            return
        for r in rows:
            yield StoredArticle(
                id=r.id,
                topics=frozenset(topics.get(r.id, ())),
                fetched_at=r.fetched_at,
                from_page=frozenset(from_page.get(r.id, ())),
                article=Article(
                    feed=r.feed_name,
                    article_key=r.article_key,
                    content_hash=r.content_hash,
                    url=r.url,
                    title=r.title,
                    summary=r.summary or "",
                    content=r.content or "",
                    published=r.published,
                    language=r.language,
                    guid=r.guid,
                    link=r.link,
                ),
            )
        last_id = rows[-1].id


@translates_errors
def apply_replay(
    engine: Engine,
    added: Sequence[tuple[StoredArticle, Match]],
    dropped: Sequence[tuple[StoredArticle, str]],
    policy: AlertPolicy,
    now: datetime,
) -> list[Alert]:
    """Store added matches (alerting per ``policy.raise_alerts``), delete dropped ones."""
    alerts: list[Alert] = []
    with write_transaction(engine) as conn:
        disabled = set(
            conn.execute(
                select(ChannelStateRow.channel).where(ChannelStateRow.disabled_at.is_not(None))
            ).scalars()
        )
        channels = tuple(c for c in policy.channels if c[0] not in disabled)
        for stored, topic in dropped:
            conn.execute(
                delete(MatchRow).where(MatchRow.article_id == stored.id, MatchRow.topic == topic)
            )
        lock_topics(conn, {match.topic for _, match in added})
        for stored, match in added:
            conn.execute(
                insert(MatchRow).values(
                    article_id=stored.id,
                    topic=match.topic,
                    score=match.score,
                    evidence=[e.to_json() for e in match.evidence],
                    matched_at=now,
                )
            )
            # The same decision as a poll's, on the title's fingerprint (never the raw
            # title: that linked nothing and was stored where a fingerprint belongs).
            _, alert = record_match(
                conn,
                matched_article(stored.article, (match,)),
                article_id=stored.id,
                match=match,
                policy=policy,
                channels=channels,
                now=now,
            )
            if alert is not None:
                alerts.append(alert)
    return alerts
