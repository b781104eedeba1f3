"""Read the article pages of one feed's new items: fetch, check, extract, within budgets.

For each new item :func:`~monitor.fulltext.decide.decide_page` says to read: the page is
fetched through the shared :class:`~monitor.fetching.client.Fetcher` (the address guard on
every redirect hop, a smaller size cap and deadline than a feed's, the per-host
concurrency limit), refused unless it is HTML, and its main text extracted in a parser
worker under a deadline (:mod:`monitor.parsing.article`). Every failure is a logged
reason, never an exception: the item is then matched on its feed text alone.

It neither matches nor stores; :mod:`monitor.pipeline` does.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.errors import ParseError
from monitor.fetching.client import Fetcher
from monitor.fulltext.budget import PageBudget
from monitor.fulltext.decide import SHORT_TEXT, PageDecision, decide_page
from monitor.log import get_logger
from monitor.parsing.article import extract_article, is_html
from monitor.parsing.pool import ParserPool
from monitor.types import Article, Document, FeedSpec

if TYPE_CHECKING:
    from monitor.topics import TopicSet

log = get_logger("monitor.fulltext")

ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True, slots=True)
class PageSettings:
    """Bounds of reading pages; the defaults are what production uses."""

    max_bytes: int = 2 * 1024 * 1024
    """News pages are 50–500 KB; a 20 MB page is not an article."""
    timeout: float = 15.0
    """Whole fetch of one page, redirects and body included."""
    extract_deadline: float = 10.0
    per_poll: int = 10
    """Pages one feed may read in one poll; its other items match on feed text."""
    short_text: int = SHORT_TEXT


class PageReader:
    """Reads pages for every feed of a process; one :class:`PageBudget` shared by all."""

    def __init__(
        self,
        fetcher: Fetcher,
        settings: PageSettings | None = None,
        *,
        budget: PageBudget | None = None,
        modes: Mapping[str, str] | None = None,
        parser: ParserPool | None = None,
        extract: Callable[..., str] | None = None,
    ) -> None:
        """``parser``: the app's worker processes (a pool of its own when none is
        given, started on first use); ``extract`` replaces the extraction in tests."""
        self.fetcher = fetcher
        self.settings = settings or PageSettings()
        self.budget = budget or PageBudget()
        self.modes = dict(modes or {})
        """Feed name → fulltext mode, from the configuration (the database's feed rows
        do not carry it); a feed not named here uses its spec's."""
        self._extract = extract or functools.partial(
            extract_article, pool=parser or ParserPool(size=1)
        )

    def read_pages(
        self, spec: FeedSpec, articles: Sequence[Article], topics: TopicSet, *, now: datetime
    ) -> dict[str, str]:
        """article_key → main text of the page, for the items worth reading and read."""
        mode = self.mode_of(spec)
        if mode == "never" or not articles:
            return {}
        chosen = []
        for article in articles:
            hits = mode == "auto" and topics.hits_a_term(Document.from_article(article))
            decision = decide_page(
                mode, article, hits_a_term=hits, short_text=self.settings.short_text
            )
            if decision is PageDecision.READ:
                chosen.append(article)
        return self.read_chosen(spec, chosen, now=now)

    def mode_of(self, spec: FeedSpec) -> str:
        """The feed's ``fulltext`` mode: auto, always or never."""
        return self.modes.get(spec.name, spec.fulltext)

    def read_chosen(
        self, spec: FeedSpec, articles: Sequence[Article], *, now: datetime
    ) -> dict[str, str]:
        """article_key → main text of the page, for items :func:`decide_page` chose
        (here, or in a parser worker), within the budgets."""
        counts: Counter[str] = Counter()
        pages: dict[str, str] = {}
        bound = log.bind(feed=spec.name)
        started = time.monotonic()
        for article in articles:
            if article.url is None:  # decide_page reads only items with a link
                continue
            if counts["fetched"] >= self.settings.per_poll:
                counts["over_poll_budget"] += 1
                continue
            if not self.budget.take(urlsplit(article.url).hostname or ""):
                counts["over_rate_budget"] += 1
                continue
            counts["fetched"] += 1
            text, reason = self._read(article.url, now)
            if text is None:
                counts["failed"] += 1
                bound.info("page_failed", url=article.url[:200], reason=reason)
            else:
                counts["read"] += 1
                pages[article.article_key] = text
        if counts["fetched"] or counts["over_poll_budget"] or counts["over_rate_budget"]:
            bound.info(
                "pages_read",
                read=counts["read"],
                failed=counts["failed"],
                skipped=counts["over_poll_budget"] + counts["over_rate_budget"],
                duration=round(time.monotonic() - started, 3),
            )
        return pages

    def _read(self, url: str, now: datetime) -> tuple[str | None, str]:
        fetched = self.fetcher.fetch(
            url,
            now=now,
            max_bytes=self.settings.max_bytes,
            total_timeout=self.settings.timeout,
            accept=ACCEPT_HTML,
        )
        if fetched.status != "ok" or fetched.content is None:
            return None, f"{fetched.error_kind or fetched.status}: {fetched.error or ''}"[:300]
        if not is_html(fetched.content, fetched.headers):
            kind = fetched.headers.get("content-type", "unknown")[:100]
            return None, f"not_html: the page is {kind}"
        try:
            text = self._extract(
                fetched.content,
                url=fetched.url,
                headers=fetched.headers,
                deadline=self.settings.extract_deadline,
            )
        except ParseError as exc:
            return None, exc.reason[:300]
        return text, ""
