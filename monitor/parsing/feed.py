"""feedparser at the boundary: bytes (and the response's Content-Type) → ParsedFeed.

feedparser only ever receives the body as a byte stream (never a URL or a string that
it could take for a path), with only the headers that decide the encoding and the base
URL. Its untyped results become :class:`~monitor.types.RawEntry` here, so ``Any`` stops
at this module. The policy on bad input: an empty body or an HTML page is
``not_a_feed``; no feed version and no entries is ``not_a_feed``; a malformed feed
(a version was recognised) with no entries is ``parse_error``; a feed feedparser
recovered (bozo) is accepted with the reason kept in ``ParsedFeed.bozo``.

:func:`parse_bytes` is the parse itself; :mod:`monitor.parsing.prepare` runs it (with
normalizing) in a worker process of :mod:`monitor.parsing.pool`, under a deadline. Cleaning the
text, dates and links is :mod:`monitor.parsing.normalize`'s job.
"""

from __future__ import annotations

import calendar
import io
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.parsing.charset import guess_charset
from monitor.parsing.entities import check_entities
from monitor.types import ParsedFeed, RawEntry

# An HTML page announces itself before its first element: doctype or <html>, possibly
# after whitespace, an XML declaration (XHTML) and comments.
_HTML_START = re.compile(
    rb"^(?:\s|<\?[^>]{0,500}\?>|<!--.{0,4000}?-->)*<(?:!doctype\s+html|html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def looks_like_html(content: bytes) -> bool:
    """True when the body starts like an HTML page rather than a feed."""
    head = content[:8192]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    return _HTML_START.match(head) is not None


def parse_bytes(content: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse in this process (no deadline). Raises ParseError (not_a_feed, parse_error)."""
    if not content.strip():
        raise ParseError("empty body", kind="not_a_feed")
    if looks_like_html(content):
        raise ParseError("an HTML page, not a feed", kind="not_a_feed")
    check_entities(content)
    # No content-location: feedparser would resolve GUIDs against it too, and a GUID is
    # an opaque name that must not change when the feed moves. Links are joined below.
    wanted: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() == "content-type":
            wanted["content-type"] = value
    charset = guess_charset(content, headers)
    if charset is not None:
        media = wanted.get("content-type", "application/xml").split(";", 1)[0]
        wanted["content-type"] = f"{media}; charset={charset}"
    try:
        result: Any = feedparser.parse(
            io.BytesIO(content),
            response_headers=wanted,
            # We turn HTML into plain text ourselves; sanitizing and resolving URIs in
            # it is a third to a half of feedparser's time, spent on markup we discard.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's own bugs on hostile input are per-feed errors
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {exc}"[:500]) from exc
    return _to_parsed_feed(result, url)


def _to_parsed_feed(result: Any, url: str) -> ParsedFeed:
    version = _text(result.get("version")) or ""
    bozo = None
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        bozo = f"{type(exc).__name__}: {exc}"[:500] if exc is not None else "malformed"
    raw_entries = result.get("entries") or []
    entries = tuple(_to_entry(e, url) for e in raw_entries if isinstance(e, Mapping))
    if not entries:
        if not version:
            raise ParseError("no RSS, Atom or RDF feed found", kind="not_a_feed")
        if bozo is not None:
            raise ParseError(f"malformed feed with no entries ({bozo})", kind="parse_error")
    feed = result.get("feed")
    feed = feed if isinstance(feed, Mapping) else {}
    return ParsedFeed(
        version=version,
        entries=entries,
        title=_text(feed.get("title")),
        language=_text(feed.get("language")) or _detail_language(feed),
        ttl=_longest(
            _ttl(feed.get("ttl")),
            _update_period(feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")),
        ),
        bozo=bozo,
    )


def _to_entry(entry: Mapping[str, Any], url: str) -> RawEntry:
    summary = _text(entry.get("summary"))
    contents: list[str] = []
    for part in entry.get("content") or []:
        value = _text(part.get("value")) if isinstance(part, Mapping) else None
        if value and value != summary and value not in contents:
            contents.append(value)
    return RawEntry(
        guid=_text(entry.get("id")),
        link=_absolute(_text(entry.get("link")), url),
        title=_text(entry.get("title")),
        summary=summary,
        content="\n\n".join(contents) or None,
        author=_text(entry.get("author")),
        published=_time(entry.get("published_parsed")),
        # Plain dict access: feedparser's own maps updated to published with a warning.
        updated=_time(dict.get(entry, "updated_parsed") if isinstance(entry, dict) else None),
        language=_detail_language(entry),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _absolute(link: str | None, base: str) -> str | None:
    """A relative link joined to the feed's URL; odd links are left for normalize."""
    if link is None:
        return None
    try:
        return urljoin(base, link.strip()) if base else link
    except ValueError:
        return link


def _detail_language(item: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = item.get(key)
        if isinstance(detail, Mapping):
            language = _text(detail.get("language"))
            if language:
                return language
    return None


def _time(value: Any) -> datetime | None:
    """feedparser's UTC struct_time → aware datetime; impossible dates → None."""
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


def _update_period(period: Any, frequency: Any) -> timedelta | None:
    """RDF Site Summary's ``sy:updatePeriod`` / ``sy:updateFrequency``: updated
    ``frequency`` times a ``period`` (hourly when only the frequency is given)."""
    name, times = _text(period), _text(frequency)
    if name is None and times is None:
        return None
    span = _PERIODS.get((name or "hourly").strip().lower())
    if span is None:
        return None
    count = times.strip() if times else "1"
    if not count.isdigit() or len(count) > 6 or int(count) <= 0:
        return None
    return span / int(count)


def _longest(*hints: timedelta | None) -> timedelta | None:
    given = [h for h in hints if h is not None]
    return max(given) if given else None


def _ttl(value: Any) -> timedelta | None:
    """RSS ``<ttl>`` (minutes); garbage and non-positive values mean none."""
    text = _text(value)
    if text is None or not text.strip().isdigit() or len(text.strip()) > 7:
        return None
    minutes = int(text.strip())
    return timedelta(minutes=minutes) if minutes > 0 else None
