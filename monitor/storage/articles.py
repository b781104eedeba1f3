"""Saving one poll of one feed: articles, matches, alerts and outbox rows together.

Everything :func:`save_feed_update` writes happens in ONE transaction (or one savepoint
of a transaction shared with other feeds' polls: :mod:`monitor.storage.group_commit`),
with the feed's poll state, and only while the worker holds the feed's lease. Deciding *what*
matched is the topic engine's job; whether a match is a new story is decided by
:mod:`monitor.alerts.policy` on the facts :mod:`monitor.storage.story_alerts` reads
inside the same transaction, which then stores that decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from monitor.alerts.policy import AlertPolicy, StoryOutcome
from monitor.storage.database import translates_errors
from monitor.storage.feeds import write_feed_state
from monitor.storage.group_commit import write_in_group
from monitor.storage.models import ArticleRow, FeedRow, MatchRow, SeenKeyRow
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert, Article, FeedUpdate, MatchedArticle, SaveResult

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


def _recent_keys_statement() -> Any:
    newest = (
        select(SeenKeyRow.feed_id, SeenKeyRow.article_key)
        .join(FeedRow, FeedRow.id == SeenKeyRow.feed_id)
        .where(FeedRow.name == bindparam("feed"))
        .order_by(SeenKeyRow.first_seen.desc())
        .limit(bindparam("limit"))
        .subquery()
    )
    return select(newest.c.article_key, ArticleRow.content_hash).outerjoin(
        ArticleRow,
        and_(
            ArticleRow.feed_id == newest.c.feed_id,
            ArticleRow.article_key == newest.c.article_key,
        ),
    )


_RECENT_KEYS = _recent_keys_statement()
"""The newest identity keys of a feed with their content hashes; built once."""


@translates_errors
def recent_keys(engine: Engine, feed: str, limit: int) -> tuple[dict[str, str | None], bool]:
    """The feed's ``limit`` newest known keys (key → content hash as in
    :func:`known_articles`), and whether that is all of them.

    What a parser worker needs to drop the items seen before without asking the
    database again: a feed's body holds its newest items, so the newest keys are the
    ones it can repeat. When the answer is not complete, an item not among them may
    still be known: ask :func:`known_articles` about it.
    """
    with engine.connect() as conn:
        rows = conn.execute(_RECENT_KEYS, {"feed": feed, "limit": limit}).all()
    return {key: chash for key, chash in rows}, len(rows) < limit


class _LeaseLostError(Exception):
    """Raised inside a poll's savepoint to roll back whatever it wrote: not ours."""


@translates_errors
def save_feed_update(
    engine: Engine, update_: FeedUpdate, policy: AlertPolicy, now: datetime
) -> SaveResult:
    """Write one poll; returns what was new. Nothing is written if the lease was lost.

    Its own transaction, or (SQLite, other polling threads writing at the same time)
    a savepoint of its own in a transaction shared with their polls
    (:mod:`monitor.storage.group_commit`): either way all of it or none of it is stored.
    """
    try:
        return write_in_group(
            engine,
            lambda conn: _save(conn, update_, policy, now),
            one_statement=not update_.articles and not update_.operator_alerts,
        )
    except _LeaseLostError:
        return SaveResult(saved=False)


def _save(conn: Connection, update_: FeedUpdate, policy: AlertPolicy, now: datetime) -> SaveResult:
    fid = write_feed_state(conn, update_.state, owner=update_.lease_owner)
    if fid is None:
        raise _LeaseLostError
    if not update_.articles and not update_.operator_alerts:
        return SaveResult()  # most polls: 304 Not Modified or the same bytes
    # Imported here: a pass whose feeds all answer 304 or the same bytes never needs them.
    from monitor.storage.alert_rows import insert_alert_without_article
    from monitor.storage.signals import check_surges, heat_feeds
    from monitor.storage.story_alerts import lock_topics, record_match

    # Rows for a channel a receiver disabled are written too: claiming marks them
    # skipped, and re-enabling the channel (`monitor deliver`) sends them.
    channels = policy.channels
    new = changed = matched = linked = old = 0
    alerts: list[Alert] = []
    stored = _upsert_articles(conn, fid, update_.articles, now)
    _replace_matches(conn, update_.articles, stored, now)
    lock_topics(conn, {m.topic for item in update_.articles for m in item.matches})
    for item, (article_id, is_new) in zip(update_.articles, stored, strict=True):
        new += is_new
        changed += not is_new
        for match in item.matches:
            assert article_id is not None  # read for every item that matched
            matched += 1
            outcome, alert = record_match(
                conn,
                item,
                article_id=article_id,
                match=match,
                policy=policy,
                channels=channels,
                now=now,
                since=update_.since,
            )
            if alert is not None:
                alerts.append(alert)
            elif outcome is StoryOutcome.JOINS_STORY:
                linked += 1
            elif outcome is StoryOutcome.TOO_OLD:
                old += 1
    topics = {m.topic for item in update_.articles for m in item.matches}
    surges = check_surges(conn, topics, policy, channels, now)
    for alert in alerts:
        if alert.kind == "topic":
            heat_feeds(conn, alert, policy, now)
    alerts.extend(surges)
    for op_alert in update_.operator_alerts:
        if insert_alert_without_article(
            conn, op_alert, story=op_alert.id, channels=channels, now=now
        ):
            alerts.append(op_alert)
    return SaveResult(
        new=new, changed=changed, matched=matched, alerts=tuple(alerts), linked=linked, old=old
    )


_MATCHES = MatchRow.__table__


def _replace_matches(
    conn: Connection,
    items: Sequence[MatchedArticle],
    stored: Sequence[tuple[int | None, bool]],
    now: datetime,
) -> None:
    """A changed article's matches are recomputed from its new text: old ones go,
    every item's matches are written, in two statements for the whole poll."""
    changed = [article_id for article_id, is_new in stored if not is_new and article_id is not None]
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
_INSERT_ARTICLES = insert(ArticleRow)


def _article_ids(conn: Connection, fid: int, keys: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        for row in conn.execute(_ARTICLE_IDS, {"fid": fid, "keys": keys[start : start + 500]}):
            ids[row.article_key] = int(row.id)
    return ids


def _upsert_articles(
    conn: Connection, fid: int, articles: Sequence[MatchedArticle], now: datetime
) -> list[tuple[int | None, bool]]:
    """(article id, is new) for each item, in order; a few statements per feed.

    One executemany per kind of write rather than three statements per article: building
    and compiling a statement per row was most of a first poll's time. New articles are
    inserted without asking for their ids back (a RETURNING executemany cost the polling
    process twice as much as the plain one): only a new item that matched needs its id
    (for its matches and alert), read in one more statement; the others' is None.
    """
    if not articles:
        return []
    keys = list(dict.fromkeys(item.article.article_key for item in articles))
    first_seen = conn.execute(
        insert_ignore(
            SeenKeyRow, ["feed_id", "article_key"], ["feed_id", "article_key", "first_seen"]
        ),
        [{"feed_id": fid, "article_key": k, "first_seen": now} for k in keys],
    ).rowcount
    # Every stored article has its key (written together, and the key outlives it): when
    # every key is seen for the first time, no article of these is stored yet, and there
    # is nothing to look up (a driver that cannot count its inserts looks them up).
    ids = {} if first_seen == len(keys) else _article_ids(conn, fid, keys)
    fresh: dict[str, Article] = {}
    wanted: list[str] = []
    for item in articles:
        a = item.article
        if a.article_key not in ids and a.article_key not in fresh:
            fresh[a.article_key] = a
            if item.matches:
                wanted.append(a.article_key)
    if fresh:
        conn.execute(
            _INSERT_ARTICLES,
            [
                {"feed_id": fid, "article_key": key, "fetched_at": now, **_article_values(a, now)}
                for key, a in fresh.items()
            ],
        )
    new_ids = _article_ids(conn, fid, wanted) if wanted else {}
    result: list[tuple[int | None, bool]] = []
    for item in articles:
        a = item.article
        key = a.article_key
        if fresh.get(key) is a:
            result.append((new_ids.get(key), True))
            continue
        article_id = ids.get(key, new_ids.get(key))
        if article_id is None:  # a second copy of a new key: only its first is stored
            article_id = _article_ids(conn, fid, [key])[key]
        conn.execute(
            update(ArticleRow).where(ArticleRow.id == article_id).values(**_article_values(a, now))
        )
        result.append((article_id, False))
    return result
