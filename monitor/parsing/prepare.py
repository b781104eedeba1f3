"""Parse and normalize a feed body in one trip to a parser worker process.

Normalizing (HTML to text, links, dates, identity keys) is pure and costs about as much
as parsing; done in the worker beside the parse, it runs on another core instead of
under the polling process's GIL, and it falls under the same deadline, so a body whose
entries are slow to clean cannot stall a tick either. The articles travel back instead
of the raw entries.

It does not fetch, match or store: :mod:`monitor.pipeline` does, with what this returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.parsing.feed import parse_bytes
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.pool import ParserPool
from monitor.types import Article, ParsedFeed

TARGET = "monitor.parsing.prepare:prepare_here"


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


def prepare_feed(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    feed: str,
    language: str | None,
    now: datetime,
    max_entries: int,
    deadline: float,
    pool: ParserPool,
) -> PreparedFeed:
    """:func:`prepare_here` in a worker of ``pool`` (the app's), killed past ``deadline``
    seconds.

    Raises ParseError: not_a_feed, parse_error, or parse_timeout.
    """
    value = pool.run(
        TARGET,
        content,
        url=url,
        headers=headers,
        deadline=deadline,
        feed=feed,
        language=language,
        now=now,
        max_entries=max_entries,
    )
    assert isinstance(value, PreparedFeed), type(value)
    return value
