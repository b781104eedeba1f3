"""A feed body sifted in a parser worker: parse, normalize, drop what is known, match the rest.

The polling process sends the body with the feed's known identity keys (and their
content hashes, so a changed item still counts); the worker parses and normalizes
(:func:`monitor.parsing.prepare.prepare_here`), drops the items stored before and
unchanged, and for the others computes what storage needs: the topics they match and,
for those that match (or whose page is read), their title fingerprints
(:func:`monitor.alerts.stories.title_key`, as :func:`monitor.alerts.policy.matched_article`
gives them: only a match is joined to a story by it), and whether a
new item's page is worth reading (:func:`monitor.fulltext.decide.decide_page`). Only
those items travel back. The polling process is left to read pages, store and
coordinate; matching runs on the workers' cores, not under its GIL.

The topics are compiled once per worker, not per job: a job names them by the digest of
their configuration (:class:`TopicSource`), and the configuration itself crosses the pipe
only to a worker that does not hold that digest yet (:class:`monitor.parsing.pool.WorkerContext`):
a new or replaced worker, or every worker after a reload changed the topics.

It does not fetch, read pages or store: :mod:`monitor.pipeline` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.fulltext.decide import PageDecision, decide_page
from monitor.parsing.pool import ParserPool, WorkerContext
from monitor.topics.spec import TopicConfig
from monitor.types import Article, Document, Match, MatchedArticle, ParsedFeed

if TYPE_CHECKING:  # the engine and the fingerprints: only the workers use them
    from monitor.topics import TopicSet

TARGET = "monitor.sifting:sift_here"
BUILDER = "monitor.sifting:compile_in_worker"


@dataclass(frozen=True, slots=True)
class TopicSource:
    """The topics as the workers get them: their configuration and its digest."""

    digest: str
    configs: tuple[TopicConfig, ...]
    checked: bool = False
    """The loader checked every topic (``Config.topics_checked``): the workers need not."""

    @classmethod
    def of(cls, configs: Sequence[TopicConfig], *, checked: bool = False) -> TopicSource:
        dumped = [c.model_dump(mode="json", by_alias=True) for c in configs]
        text = json.dumps(dumped, sort_keys=True, ensure_ascii=False)
        return cls(hashlib.sha256(text.encode()).hexdigest(), tuple(configs), checked)

    def context(self) -> WorkerContext:
        return WorkerContext(builder=BUILDER, key=self.digest, payload=self)


def compile_in_worker(source: TopicSource) -> TopicSet:
    """What a worker builds from a :class:`TopicSource` once (the pool calls it)."""
    from monitor.topics import compile_topics

    return compile_topics(source.configs, checked=source.checked)


@dataclass(frozen=True, slots=True)
class FreshItem:
    """An item not stored before, or stored with other text, matched on its feed text."""

    item: MatchedArticle
    known: bool
    """Its key was stored before: a changed item (its page is never read)."""
    read_page: bool
    """A new item whose page is worth reading (the feed's ``fulltext`` mode)."""


@dataclass(frozen=True, slots=True)
class SiftedFeed:
    feed: ParsedFeed
    """What the feed says about itself; ``entries`` is empty."""
    entries: int
    """Items the body held (after ``max_entries``), known ones included."""
    fresh: tuple[FreshItem, ...]

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled back to the polling process as rows of field values: the default
        # pickling of a slotted dataclass asks for its fields per object, and building
        # the objects again from their states cost the polling process twice as much.
        rows = tuple(
            [
                (
                    tuple([getattr(f.item.article, name) for name in _ARTICLE_FIELDS]),
                    f.item.matches,
                    f.item.title_key,
                    f.known,
                    f.read_page,
                )
                for f in self.fresh
            ]
        )
        return (_sifted_from_rows, (self.feed, self.entries, rows))


_ARTICLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article))
_Row = tuple[tuple[object, ...], tuple[Match, ...], str, bool, bool]


def _sifted_from_rows(feed: ParsedFeed, entries: int, rows: tuple[_Row, ...]) -> SiftedFeed:
    """A :class:`SiftedFeed` from what its ``__reduce__`` gave."""
    fresh = tuple(
        [
            FreshItem(MatchedArticle(Article(*values), matches, title), known, read_page)  # type: ignore[arg-type]
            for values, matches, title, known, read_page in rows
        ]
    )
    return SiftedFeed(feed, entries, fresh)


def sift_here(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    feed: str,
    language: str | None,
    now: datetime,
    max_entries: int,
    known: Mapping[str, str | None],
    page_mode: str = "never",
    short_text: int = 0,
    context: TopicSet,
) -> SiftedFeed:
    """What the worker runs (``context``: the compiled topics it holds). Raises ParseError.

    ``known``: key → stored content hash (None: only the key outlived pruning, so the
    item is never news again), as :func:`monitor.storage.known_articles` answers.
    """
    # Here, not at the top: only the worker parses, so the polling process (which imports
    # this module to send jobs) never loads feedparser, lxml or charset_normalizer.
    from monitor.alerts.stories import title_key
    from monitor.parsing.prepare import prepare_here

    prepared = prepare_here(
        content,
        url=url,
        headers=headers,
        feed=feed,
        language=language,
        now=now,
        max_entries=max_entries,
    )
    topics = context
    fresh: list[FreshItem] = []
    for article in prepared.articles:
        seen = article.article_key in known
        if seen and known[article.article_key] in (None, article.content_hash):
            continue  # seen before (perhaps pruned since): never news again
        doc = Document.from_article(article, first_seen=now)
        matches = tuple(topics.match(doc))
        read_page = False
        if (
            not seen
            and page_mode != "never"
            and (page_mode != "auto" or _short(article, short_text))
        ):
            # whether a term hits matters only to an item that is otherwise read; in
            # auto mode a long feed text is never read (asked first: cheaper than the
            # link's host, which decide_page checks before it)
            decision = decide_page(page_mode, article, hits_a_term=True, short_text=short_text)
            read_page = decision is PageDecision.READ and (
                # as PageReader.read_pages asks: the feed's own date, not first seen
                page_mode != "auto" or topics.hits_a_term(Document.from_article(article))
            )
        # The title's fingerprint serves only to join a match to a story: none is
        # needed for an item that matched nothing (unless its page may make it match,
        # where the polling process would otherwise compute it)
        key = title_key(article) if matches or read_page else ""
        item = MatchedArticle(article, matches, title_key=key)
        fresh.append(FreshItem(item, known=seen, read_page=read_page))
    return SiftedFeed(
        feed=replace(prepared.feed, entries=()),
        entries=len(prepared.articles),
        fresh=tuple(fresh),
    )


def _short(article: Article, short_text: int) -> bool:
    """Whether ``article``'s feed text is short, as :func:`decide_page` asks in auto mode."""
    return len(article.summary) + len(article.content) < short_text


def sift_feed(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    feed: str,
    language: str | None,
    now: datetime,
    max_entries: int,
    known: Mapping[str, str | None],
    topics: TopicSource,
    deadline: float,
    pool: ParserPool,
    page_mode: str = "never",
    short_text: int = 0,
) -> SiftedFeed:
    """:func:`sift_here` in a worker of ``pool``, killed past ``deadline`` seconds.

    Raises ParseError: not_a_feed, parse_error, or parse_timeout.
    """
    value = pool.run(
        TARGET,
        content,
        url=url,
        headers=headers,
        deadline=deadline,
        context=topics.context(),
        feed=feed,
        language=language,
        now=now,
        max_entries=max_entries,
        known=dict(known),
        page_mode=page_mode,
        short_text=short_text,
    )
    assert isinstance(value, SiftedFeed), type(value)
    return value
