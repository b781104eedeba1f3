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

import io
import re
from collections.abc import Mapping
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.parsing.charset import guess_charset
from monitor.parsing.entities import check_entities
from monitor.parsing.feed_fields import absolute_link, joined_contents, polling_hint, utc_time
from monitor.parsing.feed_fields import text_or_none as _text
from monitor.parsing.xml_feed import Declined, parse_well_formed
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
    """Parse in this process (no deadline). Raises ParseError (not_a_feed, parse_error).

    A well-formed feed is read by the fast path (:mod:`monitor.parsing.xml_feed`);
    whatever it declines, feedparser reads, as before.
    """
    wanted = _feed_headers(content, headers)
    try:
        return parse_well_formed(content, url=url, headers=wanted)
    except Declined:
        return _parse_with_feedparser(content, url=url, headers=wanted)


def parse_feedparser_only(content: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """:func:`parse_bytes` without the fast path (what the fast path is compared with)."""
    return _parse_with_feedparser(content, url=url, headers=_feed_headers(content, headers))


def parse_fast_only(content: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """The fast path alone; raises :class:`~monitor.parsing.xml_feed.Declined` where
    :func:`parse_bytes` would fall back to feedparser."""
    return parse_well_formed(content, url=url, headers=_feed_headers(content, headers))


def _feed_headers(content: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """The guards every body passes, then the headers a parser is given: only those
    that decide the encoding (no content-location: feedparser would resolve GUIDs
    against it too, and a GUID is an opaque name that must not change when the feed
    moves; links are joined to the feed's URL afterwards)."""
    if not content.strip():
        raise ParseError("empty body", kind="not_a_feed")
    if looks_like_html(content):
        raise ParseError("an HTML page, not a feed", kind="not_a_feed")
    check_entities(content)
    wanted: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() == "content-type":
            wanted["content-type"] = value
    charset = guess_charset(content, headers)
    if charset is not None:
        media = wanted.get("content-type", "application/xml").split(";", 1)[0]
        wanted["content-type"] = f"{media}; charset={charset}"
    return wanted


def _parse_with_feedparser(content: bytes, *, url: str, headers: dict[str, str]) -> ParsedFeed:
    try:
        result: Any = feedparser.parse(
            io.BytesIO(content),
            response_headers=headers,
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
        ttl=polling_hint(
            feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")
        ),
        bozo=bozo,
    )


def _to_entry(entry: Mapping[str, Any], url: str) -> RawEntry:
    summary = _text(entry.get("summary"))
    parts = entry.get("content") or []
    values = (_text(p.get("value")) if isinstance(p, Mapping) else None for p in parts)
    return RawEntry(
        guid=_text(entry.get("id")),
        link=absolute_link(_text(entry.get("link")), url),
        title=_text(entry.get("title")),
        summary=summary,
        content=joined_contents(values, summary),
        author=_text(entry.get("author")),
        published=utc_time(entry.get("published_parsed")),
        # Plain dict access: feedparser's own maps updated to published with a warning.
        updated=utc_time(dict.get(entry, "updated_parsed") if isinstance(entry, dict) else None),
        language=_detail_language(entry),
    )


def _detail_language(item: Mapping[str, Any]) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = item.get(key)
        if isinstance(detail, Mapping):
            language = _text(detail.get("language"))
            if language:
                return language
    return None
