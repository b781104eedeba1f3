"""Parsing: feed bytes → :class:`~monitor.types.Article` values, in worker processes.

Public surface: :class:`ParserPool` (worker processes under a deadline, owned and shut
down by the app), :func:`prepare_here` (parse and normalize: what a worker runs for a poll, see
:mod:`monitor.sifting`), :func:`parse_bytes` and :func:`normalize_feed` (its two steps). It does not
fetch, match or store. Imported lazily, so a command that parses nothing does not
import feedparser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.parsing.feed import parse_bytes
    from monitor.parsing.normalize import normalize_feed
    from monitor.parsing.pool import ParserPool
    from monitor.parsing.prepare import PreparedFeed, prepare_here

_HOMES = {
    "ParserPool": "pool",
    "PreparedFeed": "prepare",
    "normalize_feed": "normalize",
    "parse_bytes": "feed",
    "prepare_here": "prepare",
}
__all__ = [
    "ParserPool",
    "PreparedFeed",
    "normalize_feed",
    "parse_bytes",
    "prepare_here",
]


__getattr__ = lazy_getattr(__name__, _HOMES)
