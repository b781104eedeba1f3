"""Frozen data that crosses stage boundaries, named by role.

fetch → :class:`FetchResult`; parse → :class:`ParsedFeed` of :class:`RawEntry`;
normalize → :class:`Article`; match → :class:`Match` with :class:`Evidence`;
store → :class:`Alert`. Database rows never leave ``monitor.storage``; these do.
Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

FIELDS: tuple[str, ...] = ("title", "summary", "content", "article")
"""The text fields of an article that topics are matched against, in this order;
``article`` is the main text of the article's page, when it was read (full text)."""


class PollStatus(StrEnum):
    """How one poll of one feed ended (``monitor poll``, ``feed_polled``, ``monitor feeds``).

    A ``str`` enum: logs, JSON and the database see the same words as before.
    """

    OK = "ok"
    """A body was parsed and stored."""
    UNCHANGED = "unchanged"
    """The server ignored the validators but sent the same bytes (not parsed again)."""
    NOT_MODIFIED = "not_modified"
    """304 Not Modified."""
    ERROR = "error"
    GONE = "gone"
    """410 Gone: polling stops."""
    LEASE_LOST = "lease_lost"
    """Another worker took the feed over: nothing of this poll was stored."""


class OutletKind(StrEnum):
    """Who stands behind an outlet (``feeds[].source.kind``)."""

    STATE = "state"
    PUBLIC = "public"
    WIRE = "wire"
    INDEPENDENT = "independent"
    COMMERCIAL = "commercial"


@dataclass(frozen=True, slots=True)
class Source:
    """The outlet a feed belongs to: several feeds of one outlet count as one outlet."""

    outlet: str
    kind: OutletKind | None = None
    country: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"outlet": self.outlet, "kind": self.kind, "country": self.country}


@dataclass(frozen=True, slots=True)
class Sighting:
    """One outlet carrying a story: the first of its feeds to do so, and when."""

    source: Source
    feed: str
    at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {**self.source.to_json(), "feed": self.feed, "at": format_time(self.at)}


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One configured feed."""

    name: str
    url: str
    language: str | None = None
    interval: timedelta = timedelta(minutes=10)
    enabled: bool = True
    respect_cache_hints: bool = False
    """Whether the server's cache hints (``<ttl>``, Cache-Control, Expires) may
    lengthen the interval (the operator's opt-in; Retry-After is always honoured)."""
    max_hint_delay: timedelta = timedelta(hours=1)
    """The longest a cache hint may push the next poll out."""
    down_after: timedelta = timedelta(minutes=30)
    """How long the feed must have been failing (at least 3 attempts) to be "down"."""
    fulltext: str = "auto"
    """Read article pages: auto (short items that hit a topic term), always, never."""
    source: Source | None = None
    """Its outlet; None: the outlet is the feed's name."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database remembers of a feed between polls."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    errors: int = 0
    """Consecutive failures; reset by a success."""
    last_error: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    next_poll: datetime | None = None
    http_status: int | None = None
    status: str = "new"
    """new, or the :class:`PollStatus` of the last poll (ok, unchanged, not_modified,
    error, gone)."""
    down_since: datetime | None = None
    """Set while an operator "feed down" alert is outstanding."""
    next_poll_reason: str | None = None
    """Why the next poll is when it is: a :class:`NextPollReason` value."""
    failing_since: datetime | None = None
    """The first failure of the current run of failures (None after a success)."""
    moved_to: str | None = None
    """Where a permanent redirect (301/308) last sent the feed: the URL to configure."""
    hot_until: datetime | None = None
    """Polled at ``hot_interval`` until then: a story it carried is hot (``topics[].hot``)."""
    hot_interval: timedelta | None = None
    hot_topic: str | None = None


class NextPollReason(StrEnum):
    """Why a feed's next poll is when it is (``monitor feeds``, ``next_poll_reason``)."""

    INTERVAL = "interval"
    BACKOFF = "backoff"
    RETRY_AFTER = "retry-after"
    CACHE_HINT = "cache-hint"
    HOT = "hot"
    GONE = "gone"


FetchStatus = Literal["ok", "not_modified", "error"]


class ErrorKind(StrEnum):
    """Why a feed failed, in one word an operator can act on (``monitor feeds``, logs).

    A ``str`` enum, so JSON, logs and the database carry the same words as before.
    ``http_<code>`` kinds are made on demand: ``ErrorKind.http(404)``.
    """

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REFUSED_ADDRESS = "refused_address"
    TRUNCATED = "truncated"
    PROTOCOL = "protocol"
    NETWORK = "network"
    DECODING = "decoding"
    BAD_URL = "bad_url"
    RATE_LIMITED = "rate_limited"
    BOT_CHALLENGE = "bot_challenge"
    GONE = "gone"
    NOT_A_FEED = "not_a_feed"
    PARSE_ERROR = "parse_error"
    PARSE_TIMEOUT = "parse_timeout"
    STORE_REFUSED = "store_refused"
    INTERNAL = "internal_error"
    """A bug met during this feed's poll: it fails this feed alone (logged with its
    traceback)."""

    @classmethod
    def http(cls, status: int) -> ErrorKind:
        """The kind of an HTTP error status without a kind of its own (``http_404``)."""
        return cls(f"http_{status}")

    @classmethod
    def _missing_(cls, value: object) -> ErrorKind | None:
        if isinstance(value, str) and _HTTP_KIND.fullmatch(value):
            member = str.__new__(cls, value)
            member._name_ = value.upper()
            member._value_ = value
            return cls._value2member_map_.setdefault(value, member)  # type: ignore[return-value]
        return None


_HTTP_KIND = re.compile(r"http_[1-5][0-9][0-9]")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP fetch: a value, never an exception."""

    status: FetchStatus
    url: str
    """The final URL after redirects (the requested one on error)."""
    http_status: int | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    """Human-readable reason for an operator."""
    retry_after: datetime | None = None
    """Earliest next poll the server asked for (Retry-After, Cache-Control, Expires)."""
    elapsed: float = 0.0
    permanent_redirect: str | None = None
    """Set when a 301/308 moved the feed for good."""


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One feed entry as the parser saw it (HTML still in it, dates not yet checked)."""

    guid: str | None = None
    link: str | None = None
    title: str | None = None
    summary: str | None = None
    content: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What parsing returns (`parse_bytes`): the entries and what the feed says of itself."""

    version: str
    """feedparser's version string (rss20, atom10, rss10 …); '' if unknown."""
    entries: tuple[RawEntry, ...]
    title: str | None = None
    language: str | None = None
    ttl: timedelta | None = None
    bozo: str | None = None
    """Why the parser had to recover, if it did (kept as a warning, not an error)."""


@dataclass(frozen=True, slots=True)
class Article:
    """A normalized article: plain text, UTC dates, identity and change keys."""

    feed: str
    article_key: str
    """Identity within the feed: hash of GUID (or GUID|link, link, title+text)."""
    content_hash: str
    """Changes when the text changes."""
    url: str | None
    """Canonical URL (tracking parameters removed), or None."""
    title: str
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    language: str | None = None
    guid: str | None = None
    link: str | None = None
    """The link as the feed gave it (before canonicalization)."""

    def text(self, name: str) -> str:
        """The text of one of :data:`FIELDS` (the page's ``article`` is not kept here)."""
        value = getattr(self, name, "")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Document:
    """What the topic engine reads: an article or a text given to `monitor match`."""

    title: str = ""
    summary: str = ""
    content: str = ""
    language: str | None = None
    published: datetime | None = None
    article: str = ""
    """The main text of the article's page, when full text was read."""

    @classmethod
    def from_article(
        cls, article: Article, *, first_seen: datetime | None = None, page: str = ""
    ) -> Document:
        """The article as the engine reads it (``page``: its page's main text, if read).
        An article without a usable date counts as published when it was first seen
        (``first_seen``), so event windows apply."""
        return cls(
            title=article.title,
            summary=article.summary,
            content=article.content,
            language=article.language,
            published=article.published or first_seen,
            article=page,
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """One hit of one term: what, where, and the words around it."""

    term: str
    field: str
    offset: int
    """Character offset of the hit in the field's text."""
    snippet: str

    def to_json(self) -> dict[str, object]:
        return {
            "term": self.term,
            "field": self.field,
            "offset": self.offset,
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """A topic that matched a document, with why."""

    topic: str
    score: float
    evidence: tuple[Evidence, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.topic,
            "score": self.score,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as stored, delivered and printed (SPEC.md, "Alerts")."""

    id: str
    topic: str
    title: str
    url: str | None
    feed: str
    published: datetime | None
    detected_at: datetime
    evidence: tuple[Evidence, ...]
    topic_name: str = ""
    feeds: tuple[str, ...] = ()
    """Every feed that carried the story so far."""
    kind: str = "topic"
    """topic, confirmation (a story alerted earlier is confirmed), surge, or operator
    (feed down / recovered, dead letters …)."""
    summary: str = ""
    outlets: tuple[tuple[str, datetime | None], ...] = ()
    """(feed, when it carried the story: :func:`carried_time`) in the order the feeds
    joined the story; empty: only ``feeds`` is known."""
    sources: tuple[tuple[str, Source], ...] = ()
    """feed → its outlet, as configured when the feed carried the story (none: the
    outlet is the feed's name)."""
    confirmed_by: tuple[str, ...] = ()
    """The outlets that confirmed the story (topics with ``confirm``), in order."""
    confirmed_at: datetime | None = None

    def outlet_times(self) -> list[tuple[str, datetime | None]]:
        """Every feed that carried the story, in the order they joined it, with its time
        where known (else the first feed's is the detection time)."""
        known = dict(self.outlets)
        feeds = list(self.feeds or (self.feed,))
        feeds += [f for f in known if f not in feeds]
        return [
            (f, known.get(f) or (self.detected_at if i == 0 else None)) for i, f in enumerate(feeds)
        ]

    def sightings(self) -> list[Sighting]:
        """One per outlet, in the order the outlets carried the story (SPEC.md: by when
        each carried it, not by when the monitor saw it; an outlet with several feeds
        counts once, at its first feed's time; feeds of the same time, and feeds whose
        time is not known, in the order they joined). The first is the first reporter,
        as the console names it (:func:`monitor.web.stories.story_outlets`)."""
        known = dict(self.sources)
        seen: dict[str, Sighting] = {}
        joined = self.outlet_times()
        order = sorted(range(len(joined)), key=lambda i: (_instant(joined[i][1]), i))
        for feed, at in (joined[i] for i in order):
            source = known.get(feed) or Source(outlet=feed)
            if source.outlet not in seen:
                seen[source.outlet] = Sighting(source, feed, at)
        return list(seen.values())

    @property
    def first_reported_by(self) -> str:
        found = self.sightings()
        return found[0].source.outlet if found else self.feed

    @property
    def has_story(self) -> bool:
        """Whether the alert is about a story that outlets carried (topic and
        confirmation alerts), not about a topic's volume (surge) or the monitor."""
        return self.kind in {"topic", "confirmation"}

    def to_json(self) -> dict[str, object]:
        """The one JSON shape of an alert (alert log, ``--json``, webhooks, digests):
        ``outlets`` is always a list of ``{"outlet", "kind", "country", "feed", "at"}``
        and ``first_reported_by`` an outlet, or ``[]`` and null for an alert that is
        about no story (surge, operator)."""
        data = self._json()
        story = self.has_story
        data["outlets"] = [s.to_json() for s in self.sightings()] if story else []
        data["first_reported_by"] = self.first_reported_by if story else None
        if story and self.confirmed_by:
            data["confirmed_by"] = list(self.confirmed_by)
            data["confirmed_at"] = format_time(self.confirmed_at)
        return data

    def _json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "topic": self.topic,
            "topic_name": self.topic_name,
            "title": self.title,
            "url": self.url,
            "feed": self.feed,
            "feeds": [f for f in (self.feeds or (self.feed,)) if f],
            "published": format_time(self.published),
            "detected_at": format_time(self.detected_at),
            "evidence": [e.to_json() for e in self.evidence],
        }


def as_utc(at: datetime) -> datetime:
    """``at`` aware, a naive time read as UTC (as rows and alerts' JSON store times), so
    that times from either compare."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _instant(at: datetime | None) -> float:
    """A sort key of a time (naive: UTC); an unknown time after every known one."""
    return float("inf") if at is None else as_utc(at).timestamp()


def carried_time(
    published: datetime | None, seen: datetime, since: datetime | None = None
) -> datetime:
    """When an outlet carried an article (SPEC.md: "the time it carried the story"): its
    own date, unless it has none ("counts as published when first seen") or the date lies
    after ``seen``, when the monitor first saw it (a clock ahead, a date set in the
    future); and never before ``since``, the feed's last successful poll before the one
    that brought the article, which did not carry it (a feed can date an item at will:
    an old date would make it the first reporter of every story it joins and close a
    ``confirm:`` window before the outlets that confirm the story carried it)."""
    if published is None or published >= seen:
        return seen
    if since is not None and published < since:
        return min(since, seen)
    return published


def first_poll_time(carried: datetime, earliest: datetime | None, seen: datetime) -> datetime:
    """When a feed carried a story it joins on its first poll (``carried``: its
    :func:`carried_time`, which no earlier poll bounds). A date before ``earliest``, the
    story's earliest sighting that a poll bounds, is not believed: nothing says the feed
    carried it then (it was not read), and a feed can date an item at will (an old date
    would make it the first reporter of a story others carried first, and open a
    ``confirm:`` window that closed long ago). It carried it when the monitor first saw
    it, ``seen``. A later date stands; so do the dates of feeds all read for the first
    time (a first start), which only their own dates order (``earliest`` None)."""
    if earliest is not None and as_utc(carried) < as_utc(earliest):
        return seen
    return carried


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as SPEC.md writes times; None stays None."""
    if value is None:
        return None
    from datetime import UTC

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class MatchedArticle:
    """A new or changed article with the topics it matched (possibly none)."""

    article: Article
    matches: tuple[Match, ...] = ()
    title_key: str = ""
    """Fingerprint of the title for near-duplicate story detection."""


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """Everything one poll of one feed writes, in one transaction."""

    feed: str
    state: FeedState
    articles: tuple[MatchedArticle, ...] = ()
    operator_alerts: tuple[Alert, ...] = ()
    lease_owner: str | None = None
    """Write only while this owner still holds the feed's lease (None: no lease)."""
    since: datetime | None = None
    """The feed's last successful poll before this one (None: its first): its articles
    were not carried then (:func:`carried_time`)."""


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What a save did: counts for the log line, new alerts for the outbox."""

    saved: bool = True
    """False when the lease was lost and nothing was written."""
    new: int = 0
    changed: int = 0
    matched: int = 0
    alerts: tuple[Alert, ...] = ()
    linked: int = 0
    """Matches that joined an existing story instead of raising an alert."""
    old: int = 0
    """Matches too old (``max_age``) to raise an alert."""


@dataclass(frozen=True, slots=True)
class DeliveryTask:
    """One claimed outbox row: deliver ``alert`` to ``channel``."""

    id: int
    delivery_id: str
    """Stable idempotency id (webhook-id) across every attempt."""
    channel: str
    alert: Alert
    attempts: int
