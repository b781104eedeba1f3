"""Raw entries → Articles: plain text, capped sizes, UTC dates, clean links, identity keys.

For each of the newest ``max_entries`` entries of a parsed feed: title, summary and
content become plain text (:func:`html_to_text`), capped (title 1,000 characters, each
text 256 KiB); the date (published, else updated) becomes UTC and is dropped outside
[1995-01-01, now + 1 day]; links must be http(s) within 2,048 characters and get a
canonical form (:func:`canonicalize_url`); the language is the entry's, else the
feed's, else the configured hint. An entry without a title (RSS allows an item with
only a description) is titled with the start of its summary, else of its content
(about 100 characters, cut at a word with ``…``), else with its link, so the stored
article, the text matched and the alert all carry the same readable title.

Identity (``article_key``) is decided over the whole batch, so a feed's quirks are seen:
the GUID when it is unique in the feed; GUID and link when the feed reuses GUIDs; the
link when there is no GUID and the link is unique; otherwise a hash of title and text
(a feed whose items all share one link, like Meduza's regenerated feeds, stays one
article per item). ``content_hash`` changes when title, summary or content change.
``url``, the key of an article's story, is left empty where the link is not the
article's own (a site's front page, or one link several items share).

Pure: ``now`` is passed in; no clock, network or database.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from monitor.parsing.html_text import cap_text, clean_text, html_to_text
from monitor.parsing.urls import canonicalize_url, clean_and_canonical
from monitor.types import Article, ParsedFeed, RawEntry

__all__ = [
    "canonicalize_url",
    "fallback_title",
    "html_to_text",
    "normalize_entry_date",
    "normalize_feed",
]

MAX_TITLE = 1000
TITLE_FROM_TEXT = 100
MAX_TEXT = 256 * 1024
MAX_FEED_TEXT = 8 * 1024 * 1024
"""Text (summaries and contents, UTF-8) one poll of one feed may store."""
MAX_GUID = 2048
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Prepared:
    title: str
    summary: str
    content: str
    published: datetime | None
    guid: str | None
    link: str | None
    url: str | None
    language: str | None


def normalize_entry_date(value: datetime | None, now: datetime) -> datetime | None:
    """A date in UTC, or None when absent or outside [1995-01-01, now + 1 day]."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 9999 west of UTC, year 1 east of it
        return None
    if value < EARLIEST or value > now + FUTURE_SLACK:
        return None
    return value


def normalize_language(value: str | None) -> str | None:
    """``en-US``, ``EN``, ``ru_RU`` → ``en``, ``en``, ``ru``; unusable values → None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if 2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha() else None


def fallback_title(summary: str, content: str, link: str | None) -> str:
    """A title for an entry that has none: its text's first words, else its link."""
    text = summary or content
    if not text:
        return link or ""
    if len(text) <= TITLE_FROM_TEXT:
        return text
    head = text[: TITLE_FROM_TEXT + 1]
    space = head.rfind(" ")
    # One very long word (a URL, CJK text without spaces) is cut where it is.
    head = head[:space] if space > TITLE_FROM_TEXT // 2 else head[:TITLE_FROM_TEXT]
    return head.rstrip(" ,;:-–—") + "…"


def _newest(entries: tuple[RawEntry, ...], limit: int) -> list[RawEntry]:
    if len(entries) <= limit:
        return list(entries)
    dates: list[datetime] = []
    for entry in entries:
        date = entry.published or entry.updated
        if date is None:
            return list(entries[:limit])  # feeds list newest first when they give no dates
        dates.append(date)
    order = sorted(range(len(entries)), key=dates.__getitem__, reverse=True)
    chosen = sorted(order[:limit])
    return [entries[i] for i in chosen]


def _prepare(entry: RawEntry, *, feed_language: str | None, now: datetime) -> _Prepared:
    link, url = clean_and_canonical(clean_text(entry.link) if entry.link else None)
    guid = clean_text(entry.guid)[:MAX_GUID] if entry.guid else None
    return _Prepared(
        title=html_to_text(entry.title or "")[:MAX_TITLE],
        summary=cap_text(html_to_text(entry.summary or ""), MAX_TEXT),
        content=cap_text(html_to_text(entry.content or ""), MAX_TEXT),
        published=normalize_entry_date(entry.published or entry.updated, now),
        guid=guid or None,
        link=link,
        url=url,
        language=normalize_language(entry.language) or feed_language,
    )


def _digest(*parts: str) -> str:
    """Each part in UTF-8 followed by a NUL, hashed (one buffer: one update)."""
    data = "\x00".join(parts).encode("utf-8", "surrogatepass") + b"\x00"
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _text_identity(p: _Prepared) -> str:
    return _digest("text", p.title, p.summary, p.content)


def _identities(prepared: list[_Prepared]) -> list[str]:
    guids = Counter(p.guid for p in prepared if p.guid)
    links = Counter(p.url or p.link for p in prepared if p.link)
    keys: list[str] = []
    for p in prepared:
        link = p.url or p.link
        if p.guid and guids[p.guid] == 1:
            keys.append(_digest("guid", p.guid))
        elif p.guid and link:
            keys.append(_digest("guid|link", p.guid, link))
        elif not p.guid and link and links[link] == 1:
            keys.append(_digest("link", link))
        else:
            keys.append(_text_identity(p))
    # A reused GUID with a reused link (or the same link for GUID-less items) still
    # names several articles; their text tells them apart.
    counts = Counter(keys)
    if len(counts) == len(keys):
        return keys
    result: list[str] = []
    for key, p in zip(keys, prepared, strict=True):
        text_key = _text_identity(p) if counts[key] > 1 else key
        result.append(_digest(key, text_key) if key != text_key else key)
    return result


def _shared_urls(keys: list[str], prepared: list[_Prepared]) -> set[str | None]:
    """Canonical URLs that are not one article's own: a site's front page, or a link
    several different items of the document share. Such an article keeps its ``link``
    but gets no ``url``, the key of its story: two stories that link to the front
    page are two stories."""
    owners: dict[str, set[str]] = {}
    for key, p in zip(keys, prepared, strict=True):
        if p.url:
            owners.setdefault(p.url, set()).add(key)
    return {url for url, items in owners.items() if len(items) > 1 or _is_front_page(url)}


def _is_front_page(url: str) -> bool:
    # a canonical URL is ``scheme://host[:port]`` and a path that starts with "/"
    # (:func:`canonicalize_url`), without fragment: its path starts at the first "/"
    # after the "//", and its query at the first "?" (which it holds only if not empty)
    return url.find("/", url.find("//") + 2) == len(url) - 1


def _within_budget(prepared: list[_Prepared]) -> list[_Prepared]:
    """Summaries and contents cut so that one poll of one feed stores at most
    :data:`MAX_FEED_TEXT` of text, first come first served."""
    if sum(len(p.summary) + len(p.content) for p in prepared) * 4 <= MAX_FEED_TEXT:
        return prepared  # within the budget whatever the characters' UTF-8 lengths
    left = MAX_FEED_TEXT
    kept: list[_Prepared] = []
    for p in prepared:
        summary = cap_text(p.summary, left)
        left -= len(summary.encode("utf-8", "surrogatepass"))
        content = cap_text(p.content, left)
        left -= len(content.encode("utf-8", "surrogatepass"))
        changed = summary is not p.summary or content is not p.content
        kept.append(replace(p, summary=summary, content=content) if changed else p)
    return kept


def normalize_feed(
    feed: str,
    parsed: ParsedFeed,
    *,
    language: str | None,
    now: datetime,
    max_entries: int = 500,
) -> list[Article]:
    """Articles of the newest ``max_entries`` entries, in feed order, one per identity."""
    feed_language = normalize_language(parsed.language) or normalize_language(language)
    prepared = _within_budget(
        [
            _prepare(e, feed_language=feed_language, now=now)
            for e in _newest(parsed.entries, max_entries)
        ]
    )
    articles: list[Article] = []
    seen: set[str] = set()
    keys = _identities(prepared)
    shared = _shared_urls(keys, prepared)
    # Identity and change keys use the title as the feed gave it (empty or not): a
    # title made up here must not make a stored article look new or changed.
    for key, p in zip(keys, prepared, strict=True):
        if key in seen:
            continue  # the very same item twice in one document
        seen.add(key)
        articles.append(
            Article(
                feed=feed,
                article_key=key,
                content_hash=_digest("content", p.title, p.summary, p.content),
                url=None if p.url in shared else p.url,
                title=p.title or fallback_title(p.summary, p.content, p.link),
                summary=p.summary,
                content=p.content,
                published=p.published,
                language=p.language,
                guid=p.guid,
                link=p.link,
            )
        )
    return articles
