"""The console's query parameters, read strictly: bounded, typed, or a 400 with a message.

Pure: a mapping of query values in, a frozen query (or :class:`ParamError`) out; ``now``
is passed in. Nothing here queries the database or knows about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.config.durations import parse_duration

__all__ = [
    "FEED_SORTS",
    "FeedsQuery",
    "ParamError",
    "StoriesQuery",
    "SyndicationQuery",
    "TimelineQuery",
    "read_feeds_query",
    "read_stories_query",
    "read_syndication_query",
    "read_timeline_query",
]

MAX_VALUE = 200
PAGE_SIZE = 50
MAX_PAGE = 200
FEED_ITEMS = 50
MAX_RANGE = timedelta(days=366)
FEED_SORTS = ("health", "name", "status", "errors", "last_success", "next_poll", "articles")

_TOPIC = re.compile(r"[a-z0-9][a-z0-9_.:-]*")
_FEED = re.compile(r"[^\s]+")
_DURATION = re.compile(r"\d+(\.\d+)?(s|m|h|d)")


class ParamError(ValueError):
    """A query parameter the console cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class StoriesQuery:
    topic: str | None = None
    feed: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class TimelineQuery:
    since: datetime
    until: datetime
    unit: str


@dataclass(frozen=True, slots=True)
class FeedsQuery:
    sort: str = "health"


@dataclass(frozen=True, slots=True)
class SyndicationQuery:
    topic: str | None
    since: datetime | None


def _one(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_VALUE:
        raise ParamError(f"{name}: at most {MAX_VALUE} characters")
    return value


def _allowed(params: Mapping[str, str], names: set[str]) -> None:
    unknown = sorted(set(params) - names)
    if unknown:
        shown = ", ".join(repr(n[:40]) for n in unknown[:5])
        raise ParamError(f"unknown parameter {shown} (this page takes {', '.join(sorted(names))})")


def read_time(name: str, value: str | None, now: datetime) -> datetime | None:
    """``2h`` (ago) or an ISO 8601 time (``2026-01-22T00:00Z``; naive means UTC)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if _DURATION.fullmatch(text):
            return now - parse_duration(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise ParamError(
            f"{name}: {value[:40]!r} is neither a duration (2h, 3d) reaching back no further "
            "than year 1 nor an ISO 8601 time (2026-01-22T00:00Z)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _topic(params: Mapping[str, str]) -> str | None:
    value = _one(params, "topic")
    if value is not None and not _TOPIC.fullmatch(value):
        raise ParamError(f"topic: {value[:40]!r} is not a topic id")
    return value


def _int(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    value = _one(params, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise ParamError(f"{name}: a whole number from {low} to {high}, not {value[:40]!r}")
    return int(value)


def read_stories_query(params: Mapping[str, str], now: datetime) -> StoriesQuery:
    _allowed(params, {"topic", "feed", "since", "until", "before", "limit"})
    feed = _one(params, "feed")
    if feed is not None and not _FEED.fullmatch(feed):
        raise ParamError(f"feed: {feed[:40]!r} is not a feed name")
    since = read_time("since", _one(params, "since"), now)
    until = read_time("until", _one(params, "until"), now)
    if since and until and since >= until:
        raise ParamError("since must lie before until")
    return StoriesQuery(
        topic=_topic(params),
        feed=feed,
        since=since,
        until=until,
        before=_int(params, "before", 1, 2**62),
        limit=_int(params, "limit", 1, MAX_PAGE) or PAGE_SIZE,
    )


def read_timeline_query(params: Mapping[str, str], now: datetime) -> TimelineQuery:
    """The chart's range (default: the last 7 days) and unit (hour up to 3 days, else day)."""
    _allowed(params, {"since", "until", "unit"})
    until = read_time("until", _one(params, "until"), now) or now
    since = read_time("since", _one(params, "since"), now) or until - timedelta(days=7)
    if since >= until:
        raise ParamError("since must lie before until")
    if until - since > MAX_RANGE:
        raise ParamError("the range may span at most 366 days")
    unit = _one(params, "unit")
    if unit is None:
        unit = "hour" if until - since <= timedelta(days=3) else "day"
    if unit not in ("hour", "day"):
        raise ParamError(f"unit: hour or day, not {unit[:40]!r}")
    if unit == "hour" and until - since > timedelta(days=31):
        raise ParamError("unit=hour covers at most 31 days; use unit=day")
    return TimelineQuery(since=since, until=until, unit=unit)


def read_feeds_query(params: Mapping[str, str]) -> FeedsQuery:
    _allowed(params, {"sort"})
    sort = _one(params, "sort") or "health"
    if sort not in FEED_SORTS:
        raise ParamError(f"sort: one of {', '.join(FEED_SORTS)}, not {sort[:40]!r}")
    return FeedsQuery(sort=sort)


def read_syndication_query(params: Mapping[str, str], now: datetime) -> SyndicationQuery:
    _allowed(params, {"topic", "since"})
    return SyndicationQuery(
        topic=_topic(params), since=read_time("since", _one(params, "since"), now)
    )
