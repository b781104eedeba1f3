"""Parse and normalize a feed body: what a parser worker runs first for a poll.

Normalizing (HTML to text, links, dates, identity keys) is pure and costs about as much
as parsing; done in the worker beside the parse (:mod:`monitor.sifting` calls
:func:`prepare_here` there), it runs on another core instead of under the polling
process's GIL, and it falls under the same deadline, so a body whose entries are slow
to clean cannot stall a tick either.

It does not fetch, match or store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.parsing.feed import parse_bytes
from monitor.parsing.normalize import normalize_feed
from monitor.types import Article, ParsedFeed


@dataclass(frozen=True, slots=True)
class PreparedFeed:
    feed: ParsedFeed
    """What the feed says about itself; ``entries`` is empty (see ``articles``)."""
    articles: tuple[Article, ...]


def prepare_here(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    feed: str,
    language: str | None,
    now: datetime,
    max_entries: int,
) -> PreparedFeed:
    """Parse and normalize in this process (what the worker runs). Raises ParseError."""
    parsed = parse_bytes(content, url=url, headers=headers)
    articles = normalize_feed(feed, parsed, language=language, now=now, max_entries=max_entries)
    return PreparedFeed(feed=replace(parsed, entries=()), articles=tuple(articles))
