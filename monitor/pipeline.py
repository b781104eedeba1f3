"""One feed, start to end: fetch → parse → normalize → dedupe → match → store.

The only module that wires the stages together. Every outcome of a feed is a value
(:class:`FeedOutcome`, its status a :class:`~monitor.types.PollStatus`); every poll
ends in one place, where :mod:`monitor.feedstate.decider` decides the feed's next state
and storage writes it with what the poll brought. One log line per feed (``feed_polled``,
or ``feed_failed`` with the reason first), with ``feed=`` bound once for everything
logged during its poll. A feed problem never escapes; an exception that is not ours is
logged with its traceback and fails that feed alone (only the database going away
escapes, to the caller).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from monitor import storage
from monitor.alerts import AlertPolicy
from monitor.errors import DataRefusedError, ParseError, StorageError
from monitor.feedstate import PollEnding, decide_next_state
from monitor.fulltext import PageReader
from monitor.log import get_logger
from monitor.parsing import ParserPool
from monitor.sifting import FreshItem, TopicSource, sift_feed
from monitor.storage.handover import Database
from monitor.types import (
    Alert,
    Document,
    ErrorKind,
    FeedSpec,
    FeedState,
    FeedUpdate,
    FetchResult,
    MatchedArticle,
    PollStatus,
)

if TYPE_CHECKING:  # prometheus-client: only where metrics are read (`monitor run`)
    from monitor.metrics import Metrics
    from monitor.topics import TopicSet  # compiled at first use (App)

log = get_logger("monitor.pipeline")

KNOWN_KEYS_SENT = 2
"""A worker gets this many times a feed's item count of its newest known keys: the count
its body had at the feed's last parse in this process, else ``max_entries``."""
KNOWN_KEYS_FLOOR = 50
"""Never fewer keys than this (a feed whose last body was empty or small)."""


def known_keys_wanted(last_entries: int | None, max_entries: int) -> int:
    """How many of a feed's newest known keys its worker gets.

    A feed's body holds its newest items, about as many as last time: twice that many
    keys cover it, and the worker can drop what was seen before without asking the
    database again. Never more than twice ``max_entries`` (a body is cut there) and,
    before the feed was parsed in this process, that many: a feed's keys grow with
    every poll that brings news, and sending them all, up to that cap, grew each poll's
    rows, its message to the worker and the worker's set with the database
    (tests/benchmarks/README.md, mem10). An item missed still gets asked about.
    """
    cap = KNOWN_KEYS_SENT * max_entries
    if last_entries is None:
        return cap
    return min(cap, max(KNOWN_KEYS_FLOOR, KNOWN_KEYS_SENT * last_entries))


class FeedFetcher(Protocol):
    """What polling needs of a fetcher: :class:`monitor.fetching.client.Fetcher`, or a
    test's fake."""

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, now: datetime
    ) -> FetchResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What polling needs, built once per configuration (and again on reload)."""

    db: Database
    """The database (:mod:`monitor.storage.handover`: an unchanged poll's statements
    direct on SQLite, the engine from the first poll that needs more)."""
    fetcher: FeedFetcher
    compiled_topics: Callable[[], TopicSet]
    """The topics compiled, at first call (a pass of unchanged feeds never asks)."""
    policy: AlertPolicy
    owner: str
    parser: ParserPool
    """The worker processes that parse (the app's, which shuts them down)."""
    topic_source: TopicSource
    """``topics``' configuration: what the parser workers compile and match with."""
    metrics: Metrics | None = None
    parse_deadline: float = 30.0
    max_entries: int = 500
    pages: PageReader | None = None
    """Reads article pages of short new items (full text); None: feed text only."""
    prepare: Callable[[], None] = lambda: None
    """Builds what deciding the stories of matches needs and is made at first use (the
    topics compiled, the alert policy's tables): called before the store's transaction
    of a poll with matches, so that no write lock is held while they are built."""
    entries_seen: dict[str, int] = field(default_factory=dict)
    """Feed name → the item count of its body at its last parse here: how many known
    keys its next parse needs (:func:`known_keys_wanted`). One entry a configured feed."""

    @property
    def topics(self) -> TopicSet:
        return self.compiled_topics()


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one poll (the `monitor poll` summary line)."""

    feed: str
    status: PollStatus
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


_JITTER = random.Random()
"""One generator of poll jitter for the process (seeding one per poll read the OS's
entropy pool 300 times a pass)."""


def poll_feed(
    p: Pipeline, spec: FeedSpec, state: FeedState, now: datetime, rng: random.Random | None = None
) -> FeedOutcome:
    """Poll one feed and store what it brought, all or nothing (one transaction, or one
    savepoint of a transaction shared with other feeds: :mod:`monitor.storage.group_commit`)."""
    with structlog.contextvars.bound_contextvars(feed=spec.name):
        return _poll_logged(p, spec, state, now, rng or _JITTER)


def _poll_logged(
    p: Pipeline, spec: FeedSpec, state: FeedState, now: datetime, rng: random.Random
) -> FeedOutcome:
    started = time.monotonic()
    try:
        try:
            outcome = _poll(p, spec, state, now, rng)
        except DataRefusedError as exc:
            # This feed's data, not the database: the feed fails (and backs off, and
            # after a few polls raises "feed down"); the others go on.
            log.error("feed_not_stored", error=str(exc)[:300])
            refused = FetchResult(
                status="error",
                url=spec.url,
                error_kind=ErrorKind.STORE_REFUSED,
                error=str(exc),
            )
            outcome = _end(p, spec, state, now, rng, _failed(refused, f"store_refused: {exc}"))
    except StorageError as exc:
        # Not this feed's fault: the daemon logs the outage once; the feed is polled
        # again when the database is back (nothing of this poll was stored).
        log.debug("feed_not_stored", error=str(exc)[:300])
        raise
    except Exception as exc:
        # A bug, logged with its traceback; but it fails this feed only (recorded,
        # backed off, shown in `monitor feeds`), never the tick and the other feeds.
        log.exception("feed_poll_crashed")
        reason = f"internal_error: {type(exc).__name__}: {exc}"[:500]
        crashed = FetchResult(status="error", url=spec.url, error_kind=ErrorKind.INTERNAL)
        outcome = _end(p, spec, state, now, rng, _failed(crashed, reason))
    outcome = replace(outcome, duration=round(time.monotonic() - started, 3))
    if p.metrics is not None:
        p.metrics.record_poll(spec.name, outcome.status, outcome.duration)
        if outcome.new:
            p.metrics.record_articles(spec.name, outcome.new)
        for alert in outcome.alerts:
            if alert.kind == "topic":
                p.metrics.record_alert(alert.topic)
    if outcome.status in (PollStatus.ERROR, PollStatus.GONE):
        # The reason first: what an operator scanning the log needs.
        log.warning(
            "feed_failed",
            error=outcome.error,
            status=outcome.status,
            http_status=outcome.http_status,
            duration=outcome.duration,
        )
        return outcome
    log.info(
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


def _failed(fetched: FetchResult, reason: str) -> PollEnding:
    return PollEnding(PollStatus.ERROR, fetched, reason=reason)


def _poll(
    p: Pipeline, spec: FeedSpec, state: FeedState, now: datetime, rng: random.Random
) -> FeedOutcome:
    fetched = p.fetcher.fetch(spec.url, etag=state.etag, last_modified=state.last_modified, now=now)
    if fetched.status == "error":
        reason = f"{fetched.error_kind or 'error'}: {fetched.error or 'fetch failed'}"
        return _end(p, spec, state, now, rng, _failed(fetched, reason))
    if fetched.status == "not_modified":
        return _end(p, spec, state, now, rng, PollEnding(PollStatus.NOT_MODIFIED, fetched))
    body = fetched.content or b""
    body_hash = hashlib.sha256(body).hexdigest()
    if body_hash == state.content_hash:
        # The server ignores validators but sent the same bytes: nothing to parse.
        ending = PollEnding(PollStatus.UNCHANGED, fetched, body_hash=body_hash)
        return _end(p, spec, state, now, rng, ending)
    # The newest keys the feed has: what the worker needs to drop the items seen before.
    # A feed never polled successfully has none (its articles are stored only with a
    # poll that succeeds, which sets last_success): a first poll does not ask.
    if state.last_success is None:
        known: dict[str, str | None] = {}
        complete = True
    else:
        wanted = known_keys_wanted(p.entries_seen.get(spec.name), p.max_entries)
        known, complete = storage.recent_keys(p.db.engine, spec.name, wanted)
    try:
        # Parsed, normalized, sifted and matched in a worker process: off this process's
        # GIL, and all under the deadline. Only new and changed items come back.
        sifted = sift_feed(
            body,
            url=fetched.url,
            headers=fetched.headers,
            feed=spec.name,
            language=spec.language,
            now=now,
            max_entries=p.max_entries,
            known=known,
            topics=p.topic_source,
            deadline=p.parse_deadline,
            pool=p.parser,
            page_mode=p.pages.mode_of(spec) if p.pages else "never",
            short_text=p.pages.settings.short_text if p.pages else 0,
        )
    except ParseError as exc:
        return _end(p, spec, state, now, rng, _failed(fetched, exc.reason))
    p.entries_seen[spec.name] = sifted.entries
    fresh = sifted.fresh if complete else _still_fresh(p, spec.name, sifted.fresh)
    # Pages only of items never stored before: no page is read twice.
    chosen = [f.item.article for f in fresh if f.read_page]
    pages = p.pages.read_chosen(spec, chosen, now=now) if p.pages and chosen else {}
    items: list[MatchedArticle] = []
    for one in fresh:
        item = one.item
        page = pages.get(item.article.article_key)
        if page:  # matched again here, with its page's text
            doc = Document.from_article(item.article, first_seen=now, page=page)
            item = replace(item, matches=tuple(p.topics.match(doc)))
        items.append(item)
        if p.metrics is not None:
            for m in item.matches:
                p.metrics.record_match(m.topic)
    if any(item.matches for item in items):
        p.prepare()  # what deciding a story reads: built now, outside the store's transaction
    parsed = sifted.feed
    if parsed.bozo:
        log.info("feed_recovered_by_parser", reason=parsed.bozo[:300])
    ending = PollEnding(PollStatus.OK, fetched, body_hash=body_hash, ttl=parsed.ttl)
    outcome = _end(p, spec, state, now, rng, ending, tuple(items))
    if outcome.status is PollStatus.OK:
        return replace(outcome, entries=sifted.entries)
    return outcome


def _still_fresh(p: Pipeline, feed: str, fresh: tuple[FreshItem, ...]) -> tuple[FreshItem, ...]:
    """The worker knew only the feed's newest keys: ask storage about the rest."""
    unsure = [f.item.article.article_key for f in fresh if not f.known]
    stored = storage.known_articles(p.db.engine, feed, unsure) if unsure else {}
    kept: list[FreshItem] = []
    for one in fresh:
        article = one.item.article
        if one.known or article.article_key not in stored:
            kept.append(one)
        elif stored[article.article_key] not in (None, article.content_hash):
            kept.append(replace(one, known=True, read_page=False))  # changed, not new
    return tuple(kept)


def _end(
    p: Pipeline,
    spec: FeedSpec,
    state: FeedState,
    now: datetime,
    rng: random.Random,
    ending: PollEnding,
    articles: tuple[MatchedArticle, ...] = (),
) -> FeedOutcome:
    """The one ending of every poll: decide the feed's next state, store it with what
    the poll brought, and say what happened."""
    decided = decide_next_state(spec, state, ending, now, rng)
    saved = p.db.save_feed_update(
        FeedUpdate(
            feed=spec.name,
            state=decided.state,
            articles=articles,
            operator_alerts=decided.operator_alerts,
            lease_owner=p.owner,
            since=state.last_success,
        ),
        p.policy,
        now,
    )
    fetched = ending.fetched
    if p.metrics is not None and saved.saved:
        p.metrics.set_last_success(spec.name, decided.state.last_success)
    moved = decided.state.moved_to
    if moved is not None and moved != state.moved_to:
        log.warning("feed_moved", url=spec.url, moved_to=moved, status=fetched.http_status)
    error = ending.reason or None
    if not saved.saved:
        if ending.status is PollStatus.OK:
            error = "lease lost: another worker polled this feed"
        return FeedOutcome(spec.name, PollStatus.LEASE_LOST, fetched.http_status, error=error)
    return FeedOutcome(
        spec.name,
        PollStatus(decided.state.status),
        fetched.http_status,
        new=saved.new,
        changed=saved.changed,
        matched=saved.matched,
        alerts=saved.alerts,
        error=error,
        linked=saved.linked,
        old=saved.old,
    )
