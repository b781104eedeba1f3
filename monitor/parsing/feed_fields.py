"""Feed values both parsers turn into ours the same way: dates, links, cache hints.

feedparser (:mod:`monitor.parsing.feed`) and the fast parser of well-formed feeds
(:mod:`monitor.parsing.xml_feed`) hand over the same raw values (a UTC ``struct_time``,
a link as the feed wrote it, ``<ttl>`` and ``sy:updatePeriod`` text); this module makes
them a :class:`~datetime.datetime`, an absolute link and one polling hint, so the two
paths cannot drift apart here. Pure functions; it parses no XML.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def joined_contents(values: Iterable[str | None], summary: str | None) -> str | None:
    """An entry's content parts, each once and none that repeats the summary, as one text
    (feedparser lists a second summary as content)."""
    parts: list[str] = []
    for value in values:
        if value and value != summary and value not in parts:
            parts.append(value)
    return "\n\n".join(parts) or None


def _printable_except(excluded: str) -> str:
    return re.escape("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in excluded))


# An absolute http(s) link that urljoin gives back unchanged whatever the base: a
# lower-case scheme (it would lower it), an ASCII host it need not check, printable
# ASCII, no ';' in the path (parameters), no empty query or fragment (it drops them).
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[{_printable_except('?#;')}]*)?"
    rf"(?:\?[{_printable_except('#')}]+)?(?:#[{_printable_except('')}]+)?"
)


def absolute_link(link: str | None, base: str) -> str | None:
    """A relative link joined to the feed's URL; odd links are left for normalize."""
    if link is None:
        return None
    link_text = link.strip()
    if base and _PLAIN_ABSOLUTE.fullmatch(link_text) is not None:
        return link_text  # what urljoin gives, without its three parses
    try:
        return urljoin(base, link_text) if base else link
    except ValueError:
        return link


def utc_time(value: Any) -> datetime | None:
    """A UTC struct_time (feedparser's date parser) → aware datetime; impossible → None."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}


def update_period(period: Any, frequency: Any) -> timedelta | None:
    """RDF Site Summary's ``sy:updatePeriod`` / ``sy:updateFrequency``: updated
    ``frequency`` times a ``period`` (hourly when only the frequency is given)."""
    name, times = text_or_none(period), text_or_none(frequency)
    if name is None and times is None:
        return None
    span = _PERIODS.get((name or "hourly").strip().lower())
    if span is None:
        return None
    count = times.strip() if times else "1"
    if not count.isdigit() or len(count) > 6 or int(count) <= 0:
        return None
    return span / int(count)


def ttl_hint(value: Any) -> timedelta | None:
    """RSS ``<ttl>`` (minutes); garbage and non-positive values mean none."""
    text = text_or_none(value)
    if text is None or not text.strip().isdigit() or len(text.strip()) > 7:
        return None
    minutes = int(text.strip())
    return timedelta(minutes=minutes) if minutes > 0 else None


def polling_hint(ttl: Any, period: Any, frequency: Any) -> timedelta | None:
    """The longest of ``<ttl>`` and the syndication module's period, if any."""
    given = [h for h in (ttl_hint(ttl), update_period(period, frequency)) if h is not None]
    return max(given) if given else None
