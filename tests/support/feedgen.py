"""Builds small RSS/Atom documents for tests (our own fixtures, written here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    title: str
    link: str | None = None
    description: str = ""
    guid: str | None = None
    published: datetime | None = None


def rss(
    items: Sequence[Item],
    *,
    title: str = "Test feed",
    ttl: int | None = None,
    language: str | None = None,
) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title>",
        "<link>http://127.0.0.1/</link>",
        "<description>test</description>",
    ]
    if ttl is not None:
        parts.append(f"<ttl>{ttl}</ttl>")
    if language:
        parts.append(f"<language>{language}</language>")
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.description:
            parts.append(f"<description>{escape(item.description)}</description>")
        when = item.published or datetime.now(UTC)
        parts.append(f"<pubDate>{format_datetime(when.astimezone(UTC), usegmt=True)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


SUMMIT_EN = Item(
    title="Trump and Putin meet for summit in Anchorage",
    link="https://news.example.org/world/trump-putin-anchorage?utm_source=rss",
    description="US President Donald Trump and Russian President Vladimir Putin held a "
    "summit in Anchorage, Alaska, on Friday.",
)
PEACE_EN = Item(
    title="Trump's Board of Peace holds first session",
    link="https://news.example.org/world/board-of-peace-session",
    description="The Board of Peace founded by Donald Trump met for the first time, with "
    "delegates from twenty countries.",
)
OTHER_EN = Item(
    title="Local council approves new budget",
    link="https://news.example.org/local/budget",
    description="The city council approved the budget for next year.",
)
