"""One entry's values as the walk over a feed tree collects them, and the RawEntry made
of them the way :func:`monitor.parsing.feed._to_entry` makes one from feedparser's entry
(the summary, the distinct content parts other than it, the title's or summary's
language). Pure data; :mod:`monitor.parsing.xml_walker` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.parsing.feed_fields import absolute_link, joined_contents, text_or_none
from monitor.types import RawEntry


@dataclass
class EntryValues:
    """What the walk kept for one entry: values by feedparser's key (with the depth
    each came from, where a shallower one replaces a deeper), content parts and the
    languages of the texts."""

    values: dict[str, Any] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    contents: list[str] = field(default_factory=list)
    languages: dict[str, str | None] = field(default_factory=dict)

    def store(self, key: str, value: str, depth: int) -> None:
        old = self.depths.get(key)
        if old is None or depth <= old:
            self.depths[key] = depth
            self.values[key] = value

    def to_raw(self, url: str) -> RawEntry:
        v = self.values
        summary = text_or_none(v.get("summary"))
        language = self.languages.get("title") or self.languages.get("summary")
        return RawEntry(
            guid=text_or_none(v.get("id")),
            link=absolute_link(text_or_none(v.get("link")), url),
            title=text_or_none(v.get("title")),
            summary=summary,
            content=joined_contents(self.contents, summary),
            author=text_or_none(v.get("author")),
            published=_date_or_none(v.get("published_parsed")),
            updated=_date_or_none(v.get("updated_parsed")),
            language=language or None,
        )


def _date_or_none(value: Any) -> datetime | None:
    # an unknown element named <published_parsed> is stored as text under its own name
    return value if isinstance(value, datetime) else None
