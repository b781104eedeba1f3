"""One feed, start to end: fetch → parse → normalize → dedupe → match → store.

The only module that wires the stages together. Every outcome of a feed is a value
(:class:`FeedOutcome`); one ``feed_polled`` log line per feed. A feed problem never
escapes; an exception that is not ours is logged with its traceback and fails that
feed alone (only the database going away escapes, to the caller).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.stories import title_fingerprint
from monitor.errors import DataRefusedError, ParseError, StorageError
from monitor.feedstate.health import after_failure, after_success
from monitor.feedstate.schedule import next_poll_after_failure, next_poll_after_success
from monitor.fetching.client import Fetcher
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.parsing.prepare import prepare_feed
from monitor.topics import TopicSet
from monitor.types import (
    Alert,
    Document,
    FeedSpec,
    FeedState,
    FeedUpdate,
    FetchResult,
    MatchedArticle,
    SaveResult,
)

log = get_logger("monitor.pipeline")


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What polling needs, built once per configuration (and again on reload)."""

    engine: Engine
    fetcher: Fetcher
    topics: TopicSet
    policy: storage.AlertPolicy
    owner: str
    metrics: Metrics | None = None
    parse_deadline: float = 30.0
    max_entries: int = 500


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one poll (the `monitor poll` summary line)."""

    feed: str
    status: str
    """ok, unchanged, not_modified, error, gone, lease_lost."""
    http_status: int | None = None
    new: int = 0
    changed: int = 0
    matched: int = 0
    alerts: tuple[Alert, ...] = ()
    error: str | None = None
    duration: float = 0.0
    entries: int = 0
    linked: int = 0
    """Matches that joined a story already alerted (same URL or near-identical title)."""
    old: int = 0
    """Matches too old (``max_age``) to raise an alert."""


def poll_feed(
    p: Pipeline, spec: FeedSpec, state: FeedState, now: datetime, rng: random.Random | None = None
) -> FeedOutcome:
    """Poll one feed and store what it brought, in one transaction."""
    rng = rng or random.Random()
    started = time.monotonic()
    bound = log.bind(feed=spec.name)
    try:
        try:
            outcome = _poll(p, spec, state, now, rng)
        except DataRefusedError as exc:
            # This feed's data, not the database: the feed fails (and backs off, and
            # after a few polls raises "feed down"); the others go on.
            bound.error("feed_not_stored", error=str(exc)[:300])
            refused = FetchResult(
                status="error", url=spec.url, error_kind="store_refused", error=str(exc)
            )
            outcome = _fail(p, spec, state, refused, now, rng, f"store_refused: {exc}")
    except StorageError as exc:
        # Not this feed's fault: the daemon logs the outage once; the feed is polled
        # again when the database is back (nothing of this poll was stored).
        bound.debug("feed_not_stored", error=str(exc)[:300])
        raise
    except Exception as exc:
        # A bug, logged with its traceback; but it fails this feed only (recorded,
        # backed off, shown in `monitor feeds`), never the tick and the other feeds.
        bound.exception("feed_poll_crashed")
        reason = f"internal_error: {type(exc).__name__}: {exc}"[:500]
        crashed = FetchResult(status="error", url=spec.url, error_kind="internal_error")
        outcome = _fail(p, spec, state, crashed, now, rng, reason)
    outcome = replace(outcome, duration=round(time.monotonic() - started, 3))
    if p.metrics is not None:
        p.metrics.record_poll(spec.name, outcome.status, outcome.duration)
        if outcome.new:
            p.metrics.record_articles(spec.name, outcome.new)
        for alert in outcome.alerts:
            if alert.kind == "topic":
                p.metrics.record_alert(alert.topic)
    level = bound.warning if outcome.status == "error" else bound.info
    level(
        "feed_polled",
        status=outcome.status,
        http_status=outcome.http_status,
        entries=outcome.entries,
        new=outcome.new,
        changed=outcome.changed,
        matched=outcome.matched,
        alerts=len(outcome.alerts),
        linked=outcome.linked,
        old=outcome.old,
        error=outcome.error,
        duration=outcome.duration,
    )
    return outcome


def _poll(
    p: Pipeline, spec: FeedSpec, state: FeedState, now: datetime, rng: random.Random
) -> FeedOutcome:
    fetched = p.fetcher.fetch(spec.url, etag=state.etag, last_modified=state.last_modified, now=now)
    if fetched.status == "error":
        return _fail(
            p,
            spec,
            state,
            fetched,
            now,
            rng,
            f"{fetched.error_kind or 'error'}: {fetched.error or 'fetch failed'}",
        )
    if fetched.status == "not_modified":
        return _unchanged(p, spec, state, fetched, now, rng, "not_modified", None)
    body = fetched.content or b""
    body_hash = hashlib.sha256(body).hexdigest()
    if body_hash == state.content_hash:
        # The server ignores validators but sent the same bytes: nothing to parse.
        return _unchanged(p, spec, state, fetched, now, rng, "unchanged", body_hash)
    try:
        # Parsed and normalized in a worker process: off this process's GIL, and both
        # under the deadline.
        prepared = prepare_feed(
            body,
            url=fetched.url,
            headers=fetched.headers,
            feed=spec.name,
            language=spec.language,
            now=now,
            max_entries=p.max_entries,
            deadline=p.parse_deadline,
        )
    except ParseError as exc:
        return _fail(p, spec, state, fetched, now, rng, exc.reason)
    parsed, articles = prepared.feed, prepared.articles
    known = storage.known_articles(p.engine, spec.name, (a.article_key for a in articles))
    fresh: list[MatchedArticle] = []
    for article in articles:
        if article.article_key in known and known[article.article_key] in (
            None,
            article.content_hash,
        ):
            continue  # seen before (perhaps pruned since): never news again
        matches = tuple(p.topics.match(Document.from_article(article)))
        fresh.append(
            MatchedArticle(
                article=article,
                matches=matches,
                title_key=title_fingerprint(article.title, article.language),
            )
        )
        if p.metrics is not None:
            for m in matches:
                p.metrics.record_match(m.topic)
    new_state, op_alerts = after_success(
        replace(
            state,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            content_hash=body_hash,
            errors=0,
            last_error=None,
            last_poll=now,
            last_success=now,
            http_status=fetched.http_status,
            status="ok",
            next_poll=next_poll_after_success(
                now, spec.interval, hint=fetched.retry_after, ttl=parsed.ttl, rng=rng
            ),
        ),
        now,
    )
    if parsed.bozo:
        log.bind(feed=spec.name).info("feed_recovered_by_parser", reason=parsed.bozo[:300])
    saved = _save(
        p,
        FeedUpdate(
            feed=spec.name,
            state=new_state,
            articles=tuple(fresh),
            operator_alerts=op_alerts,
            lease_owner=p.owner,
        ),
        now,
    )
    if not saved.saved:
        return FeedOutcome(
            spec.name,
            "lease_lost",
            fetched.http_status,
            error="lease lost: another worker polled this feed",
        )
    return FeedOutcome(
        spec.name,
        "ok",
        fetched.http_status,
        new=saved.new,
        changed=saved.changed,
        matched=saved.matched,
        alerts=saved.alerts,
        entries=len(articles),
        linked=saved.linked,
        old=saved.old,
    )


def _unchanged(
    p: Pipeline,
    spec: FeedSpec,
    state: FeedState,
    fetched: FetchResult,
    now: datetime,
    rng: random.Random,
    status: str,
    body_hash: str | None,
) -> FeedOutcome:
    new_state, op_alerts = after_success(
        replace(
            state,
            errors=0,
            last_error=None,
            last_poll=now,
            last_success=now,
            http_status=fetched.http_status,
            status=status,
            etag=fetched.etag or state.etag,
            last_modified=fetched.last_modified or state.last_modified,
            content_hash=body_hash or state.content_hash,
            next_poll=next_poll_after_success(
                now, spec.interval, hint=fetched.retry_after, ttl=None, rng=rng
            ),
        ),
        now,
    )
    saved = _save(
        p,
        FeedUpdate(feed=spec.name, state=new_state, operator_alerts=op_alerts, lease_owner=p.owner),
        now,
    )
    return FeedOutcome(
        spec.name, status if saved.saved else "lease_lost", fetched.http_status, alerts=saved.alerts
    )


def _fail(
    p: Pipeline,
    spec: FeedSpec,
    state: FeedState,
    fetched: FetchResult,
    now: datetime,
    rng: random.Random,
    reason: str,
) -> FeedOutcome:
    gone = fetched.error_kind == "gone"
    errors = state.errors + 1
    failed = replace(
        state,
        errors=errors,
        last_error=reason[:1000],
        last_poll=now,
        http_status=fetched.http_status,
        status="gone" if gone else "error",
        next_poll=None
        if gone
        else next_poll_after_failure(now, spec.interval, errors, hint=fetched.retry_after, rng=rng),
    )
    failed, op_alerts = after_failure(failed, reason, now, gone=gone)
    saved = _save(
        p,
        FeedUpdate(feed=spec.name, state=failed, operator_alerts=op_alerts, lease_owner=p.owner),
        now,
    )
    return FeedOutcome(
        spec.name,
        failed.status if saved.saved else "lease_lost",
        fetched.http_status,
        alerts=saved.alerts,
        error=reason,
    )


def _save(p: Pipeline, update: FeedUpdate, now: datetime) -> SaveResult:
    return storage.save_feed_update(p.engine, update, p.policy, now)
