"""An alert from its row (``alerts``), whichever way it was read: SQLAlchemy's rows and
the plain rows of :mod:`monitor.storage.reader` alike. No SQLAlchemy here, so the read
path of `monitor alerts` does not load it. Writing rows is :mod:`monitor.storage.alert_rows`'s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.types import Alert, Evidence, OutletKind, Source

__all__ = ["row_to_alert"]


def row_to_alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        kind=row.kind,
        topic=row.topic,
        topic_name=row.topic_name,
        title=row.title,
        url=row.url,
        feed=row.feed,
        feeds=tuple(row.feeds or ()),
        published=row.published,
        detected_at=row.detected_at,
        summary=row.summary or "",
        outlets=_outlets(getattr(row, "outlets", None)),
        sources=_sources(getattr(row, "outlets", None)),
        confirmed_by=tuple(str(o) for o in (getattr(row, "confirmed_by", None) or ())),
        confirmed_at=getattr(row, "confirmed_at", None),
        evidence=tuple(
            Evidence(
                term=str(e.get("term", "")),
                field=str(e.get("field", "")),
                offset=int(e.get("offset", 0) or 0),
                snippet=str(e.get("snippet", "")),
            )
            for e in (row.evidence or [])
        ),
    )


def _outlets(value: Any) -> tuple[tuple[str, datetime | None], ...]:
    found: list[tuple[str, datetime | None]] = []
    for item in value or ():
        if not isinstance(item, dict) or not isinstance(item.get("feed"), str):
            continue
        at = item.get("at")
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None
        except (AttributeError, ValueError):
            when = None
        found.append((item["feed"], when))
    return tuple(found)


def _sources(value: Any) -> tuple[tuple[str, Source], ...]:
    found: list[tuple[str, Source]] = []
    for item in value or ():
        if not isinstance(item, dict) or not isinstance(item.get("outlet"), str):
            continue
        kind = item.get("kind")
        country = item.get("country")
        source = Source(
            outlet=item["outlet"],
            kind=OutletKind(str(kind)) if kind in OutletKind._value2member_map_ else None,
            country=country if isinstance(country, str) else None,
        )
        found.append((str(item.get("feed")), source))
    return tuple(found)
