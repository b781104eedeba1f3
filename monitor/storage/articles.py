"""Saving one poll of one feed: articles, matches, alerts and outbox rows together.

Everything :func:`save_feed_update` writes happens in ONE transaction, with the
feed's poll state, and only while the worker holds the feed's lease. Deciding *what*
matched is the topic engine's job; deciding *whether* a match is a new story (one
alert per topic and story) happens here, because it needs what is already stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.feeds import write_feed_state
from monitor.storage.models import (
    AlertRow,
    ArticleRow,
    ChannelStateRow,
    DeliveryRow,
    FeedRow,
    MatchRow,
    SeenKeyRow,
)
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert, Article, Evidence, FeedUpdate, Match, MatchedArticle, SaveResult

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


_KNOWN = (
    select(SeenKeyRow.article_key, ArticleRow.content_hash)
    .join(FeedRow, FeedRow.id == SeenKeyRow.feed_id)
    .outerjoin(
        ArticleRow,
        and_(
            ArticleRow.feed_id == SeenKeyRow.feed_id,
            ArticleRow.article_key == SeenKeyRow.article_key,
        ),
    )
    .where(
        FeedRow.name == bindparam("feed"),
        SeenKeyRow.article_key.in_(bindparam("keys", expanding=True)),
    )
)
"""Every stored article has its identity key (written together); a key whose article
was pruned comes back with no content hash. One statement, built once: this runs on
every poll that brings a changed body."""


@translates_errors
def known_articles(engine: Engine, feed: str, keys: Iterable[str]) -> dict[str, str | None]:
    """key → stored content hash (None when only the identity key outlived pruning)."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, str | None] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for key, chash in conn.execute(_KNOWN, {"feed": feed, "keys": chunk}):
                found[key] = chash
    return found


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


@translates_errors
def save_feed_update(
    engine: Engine, update_: FeedUpdate, policy: AlertPolicy, now: datetime
) -> SaveResult:
    """Write one poll; returns what was new. Nothing is written if the lease was lost."""
    with write_transaction(engine) as conn:
        fid = write_feed_state(conn, update_.state, owner=update_.lease_owner)
        if fid is None:
            conn.rollback()
            return SaveResult(saved=False)
        if not update_.articles and not update_.operator_alerts:
            return SaveResult()  # most polls: 304 Not Modified or the same bytes
        # Rows for a channel a receiver disabled are written too: claiming marks them
        # skipped, and re-enabling the channel (`monitor deliver`) sends them.
        channels = policy.channels
        new = changed = matched = linked = old = 0
        alerts: list[Alert] = []
        stored = _upsert_articles(conn, fid, [item.article for item in update_.articles], now)
        _replace_matches(conn, update_.articles, stored, now)
        lock_topics(conn, {m.topic for item in update_.articles for m in item.matches})
        for item, (article_id, is_new) in zip(update_.articles, stored, strict=True):
            new += is_new
            changed += not is_new
            for match in item.matches:
                matched += 1
                outcome = raise_story_alert(
                    conn,
                    item,
                    article_id=article_id,
                    match=match,
                    policy=policy,
                    channels=channels,
                    now=now,
                )
                if isinstance(outcome, Alert):
                    alerts.append(outcome)
                elif outcome == "linked":
                    linked += 1
                elif outcome == "old":
                    old += 1
        for op_alert in update_.operator_alerts:
            if _insert_alert(
                conn,
                op_alert,
                story=op_alert.id,
                title_key="",
                language=None,
                article_id=None,
                channels=channels,
                now=now,
            ):
                alerts.append(op_alert)
    return SaveResult(
        new=new, changed=changed, matched=matched, alerts=tuple(alerts), linked=linked, old=old
    )


_MATCHES = cast(Table, MatchRow.__table__)


def _replace_matches(
    conn: Connection,
    items: Sequence[MatchedArticle],
    stored: Sequence[tuple[int, bool]],
    now: datetime,
) -> None:
    """A changed article's matches are recomputed from its new text: old ones go,
    every item's matches are written, in two statements for the whole poll."""
    changed = [article_id for article_id, is_new in stored if not is_new]
    if changed:
        conn.execute(delete(_MATCHES).where(_MATCHES.c.article_id.in_(changed)))
    rows = [
        {
            "article_id": article_id,
            "topic": match.topic,
            "score": match.score,
            "evidence": [e.to_json() for e in match.evidence],
            "matched_at": now,
        }
        for item, (article_id, _) in zip(items, stored, strict=True)
        for match in item.matches
    ]
    if rows:
        conn.execute(insert(_MATCHES), rows)


def _article_values(a: Article, now: datetime) -> dict[str, Any]:
    return {
        "content_hash": a.content_hash,
        "url": a.url,
        "link": a.link,
        "guid": a.guid,
        "title": a.title,
        "summary": a.summary,
        "content": a.content,
        "language": a.language,
        "published": a.published,
        "updated_at": now,
    }


# Built once: these run on every poll that brings something new.
_ARTICLE_IDS = select(ArticleRow.id, ArticleRow.article_key).where(
    ArticleRow.feed_id == bindparam("fid"),
    ArticleRow.article_key.in_(bindparam("keys", expanding=True)),
)
_INSERT_ARTICLES = insert(ArticleRow).returning(ArticleRow.id, sort_by_parameter_order=True)


def _upsert_articles(
    conn: Connection, fid: int, articles: Sequence[Article], now: datetime
) -> list[tuple[int, bool]]:
    """(article id, is new) for each article, in order; a few statements per feed.

    One executemany per kind of write rather than three statements per article: building
    and compiling a statement per row was most of a first poll's time.
    """
    if not articles:
        return []
    conn.execute(
        insert_ignore(
            SeenKeyRow, ["feed_id", "article_key"], ["feed_id", "article_key", "first_seen"]
        ),
        [
            {"feed_id": fid, "article_key": k, "first_seen": now}
            for k in dict.fromkeys(a.article_key for a in articles)
        ],
    )
    ids: dict[str, int] = {}
    keys = list(dict.fromkeys(a.article_key for a in articles))
    for start in range(0, len(keys), 500):
        for row in conn.execute(_ARTICLE_IDS, {"fid": fid, "keys": keys[start : start + 500]}):
            ids[row.article_key] = int(row.id)
    fresh: dict[str, Article] = {}
    for a in articles:
        if a.article_key not in ids:
            fresh.setdefault(a.article_key, a)
    if fresh:
        inserted = (
            conn.execute(
                _INSERT_ARTICLES,
                [
                    {
                        "feed_id": fid,
                        "article_key": key,
                        "fetched_at": now,
                        **_article_values(a, now),
                    }
                    for key, a in fresh.items()
                ],
            )
            .scalars()
            .all()
        )
        new_ids = dict(zip(fresh, (int(i) for i in inserted), strict=True))
    else:
        new_ids = {}
    result: list[tuple[int, bool]] = []
    for a in articles:
        key = a.article_key
        if fresh.get(key) is a:
            result.append((new_ids[key], True))
            continue
        article_id = ids.get(key, new_ids.get(key))
        assert article_id is not None
        conn.execute(
            update(ArticleRow).where(ArticleRow.id == article_id).values(**_article_values(a, now))
        )
        result.append((article_id, False))
    return result


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
        select(AlertRow.id, AlertRow.feeds).where(
            AlertRow.topic == match.topic, AlertRow.story_key == key
        )
    ).first()
    if row is None and policy.same_story is not None:
        row = _similar_story(conn, item, match.topic, policy, now)
    if row is not None:
        feeds = list(row.feeds or [])
        if article.feed not in feeds:
            conn.execute(
                update(AlertRow).where(AlertRow.id == row.id).values(feeds=[*feeds, article.feed])
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
    if _insert_alert(
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
        select(AlertRow.id, AlertRow.feeds, AlertRow.title, AlertRow.title_key)
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


def _insert_alert(
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
        "seq": int(now.timestamp() * 1_000_000),
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
        return _insert_alert(
            conn,
            alert,
            story=alert.id,
            title_key="",
            language=None,
            article_id=None,
            channels=policy.channels,
            now=now,
        )
