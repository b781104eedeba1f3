"""What a server says about when to come back: Retry-After, Cache-Control, Expires.

Pure functions of header values and ``now``. Garbage (unparsable values, dates in the
past, negative numbers) means "no hint", never an error; every hint is capped at
:data:`MAX_HINT` so a server cannot park a feed for a year. Deciding the next poll from
a hint is :mod:`monitor.feedstate.schedule`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_HINT = timedelta(hours=24)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""HTTP dates outside these bounds are garbage (a server saying "never expires" with
year 9999), refused as "no date" before any arithmetic can overflow."""

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:[,=]|$)", re.IGNORECASE)


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 9110 HTTP date (or the obsolete forms) as aware UTC, else None.

    Dates before 1970 or after 2200 are None too: year 9999 with a negative offset
    would overflow ``datetime`` on the way to UTC.
    """
    if not value or len(value) > 100:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not EARLIEST <= parsed < LATEST:
        return None
    return parsed


def _cap(hint: datetime, now: datetime) -> datetime | None:
    if hint <= now:
        return None
    return min(hint, now + MAX_HINT)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as delta-seconds or an HTTP date → the earliest next attempt."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = int(text[:12])
        return _cap(now + min(timedelta(seconds=seconds), MAX_HINT), now)
    when = parse_http_date(text)
    return None if when is None else _cap(when, now)


def cache_hint(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a successful response says it stays fresh until (max-age, else Expires).

    Expires is read relative to the server's own Date header when there is one, so a
    server with a skewed clock still gets the freshness lifetime it meant.
    """
    control = _get(headers, "cache-control") or ""
    if _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match:
        seconds = int(match.group(1))
        return _cap(now + min(timedelta(seconds=seconds), MAX_HINT), now)
    expires = parse_http_date(_get(headers, "expires"))
    if expires is None:
        return None
    served = parse_http_date(_get(headers, "date"))
    lifetime = expires - (served or now)
    if lifetime <= timedelta(0):
        return None
    return _cap(now + min(lifetime, MAX_HINT), now)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value
