"""Whether to read an item's article page: a pure decision, one outcome per item.

It knows the feed's mode, the item and whether a topic term hit its feed text; it does not
fetch, count budgets or match (:mod:`monitor.fulltext.reader` does).
"""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import urlsplit

from monitor.types import Article

SHORT_TEXT = 400
"""Feed text (summary and content) shorter than this is "short" in auto mode: BBC items
carry a median of 98 characters, DW 59, a news-search feed only a headline."""

MODES = ("auto", "always", "never")

# Names reserved for documentation and testing (RFC 2606, RFC 6761): no article lives
# there, and a test feed's links must never send a request off the machine.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "test", "localhost")


class PageDecision(Enum):
    READ = "read"
    OFF = "off"
    """The feed says ``fulltext: never``."""
    NO_LINK = "no_link"
    LONG_ENOUGH = "long_enough"
    """auto: the feed text is long enough to match on."""
    NO_TERM = "no_term"
    """auto: no term of any topic hits the item's title or summary."""
    RESERVED = "reserved"
    """The link's host is a documentation or test name (example.org, *.invalid …)."""


def decide_page(
    mode: str, article: Article, *, hits_a_term: bool, short_text: int = SHORT_TEXT
) -> PageDecision:
    """Read the page of ``article``? ``mode`` is the feed's ``fulltext`` setting."""
    if mode == "never":
        return PageDecision.OFF
    if not article.url:
        return PageDecision.NO_LINK
    if is_reserved_host(_host_of(article.url)):
        return PageDecision.RESERVED
    if mode == "always":
        return PageDecision.READ
    if len(article.summary) + len(article.content) >= short_text:
        return PageDecision.LONG_ENOUGH
    if not hits_a_term:
        return PageDecision.NO_TERM
    return PageDecision.READ


# A link as canonicalization writes it: lower-case http(s), a lower-case host name, maybe a
# port. Its host is what urlsplit would call it, without asking urlsplit (asked for every
# new item of every feed in auto mode).
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?::[0-9]*)?(?=[/?#]|$)")


def _host_of(url: str) -> str:
    plain = _PLAIN_HOST.match(url)
    if plain is not None:
        return plain.group(1)
    return urlsplit(url).hostname or ""


def is_reserved_host(host: str) -> bool:
    """Whether ``host`` is a name reserved for documentation or tests."""
    name = host.lower().rstrip(".")
    if name.rsplit(".", 1)[-1] in _RESERVED_TLDS:
        return True
    return any(name == d or name.endswith("." + d) for d in _RESERVED_DOMAINS)
