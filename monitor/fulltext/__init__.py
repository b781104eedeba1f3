"""Full text: read the article page of a short feed item, so its body can match too.

Public surface::

    reader = PageReader(fetcher)                      # one per process, shared by feeds
    pages = reader.read_pages(spec, new_articles, topics, now=now)   # article_key → text
    decide_page(mode, article, hits_a_term=…)         # the pure decision, per item

SPEC.md "Reading the article": ``feeds[].fulltext: auto | always | never`` (default
auto). In auto, a new item whose feed text is short and whose title or summary hits a
term of some topic has its page fetched (through the feed fetcher: address guard on every
hop, size and time caps, per-host limits) and its main text extracted in a parser worker
under a deadline; ``always`` reads every new item's page. Pages are bounded per feed poll,
per minute and per host per minute, so one busy feed cannot starve the rest. A page that
fails leaves the item matched on its feed text, with the reason logged; since only items
never stored before are read, no page is fetched twice.

This package does not match or store; :mod:`monitor.pipeline` does, with what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.fulltext.budget import PageBudget
    from monitor.fulltext.decide import PageDecision, decide_page
    from monitor.fulltext.reader import PageReader, PageSettings

# Lazy: a parser worker decides which pages to read (decide.py) without importing the
# HTTP client that reads them.
_HOMES = {
    "PageBudget": "budget",
    "PageDecision": "decide",
    "PageReader": "reader",
    "PageSettings": "reader",
    "decide_page": "decide",
}
__all__ = ["PageBudget", "PageDecision", "PageReader", "PageSettings", "decide_page"]


__getattr__ = lazy_getattr(__name__, _HOMES)
