"""Parsing: feed bytes → :class:`~monitor.types.Article` values, in worker processes.

Public surface: :class:`ParserPool` (worker processes under a deadline, owned and shut
down by the app), :func:`prepare_feed` (parse and normalize in one trip to a worker),
:func:`parse_bytes` and :func:`normalize_feed` (the same, in this process). It does not
fetch, match or store. Imported lazily, so a command that parses nothing does not
import feedparser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.parsing.feed import parse_bytes
    from monitor.parsing.normalize import normalize_feed
    from monitor.parsing.pool import ParserPool
    from monitor.parsing.prepare import PreparedFeed, prepare_feed

_HOMES = {
    "ParserPool": "pool",
    "PreparedFeed": "prepare",
    "normalize_feed": "normalize",
    "parse_bytes": "feed",
    "prepare_feed": "prepare",
}
__all__ = [
    "ParserPool",
    "PreparedFeed",
    "normalize_feed",
    "parse_bytes",
    "prepare_feed",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
