"""How commands print: alert lines and tables for people, JSON Lines for programs.

Feed-supplied strings are stripped of control characters before they reach a
terminal (an article title must not be able to move the cursor or change colours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.storage import FeedStatus
from monitor.types import Alert, format_time

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str | None, limit: int = 300) -> str:
    """One line of untrusted text, safe for a terminal."""
    cleaned = _CONTROL.sub("", " ".join((text or "").split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def alert_json(alert: Alert) -> str:
    return json.dumps(alert.to_json(), ensure_ascii=False)


def alert_line(alert: Alert) -> str:
    """One alert as one readable line (pipes, logs)."""
    terms = ", ".join(dict.fromkeys(e.term for e in alert.evidence))
    when = format_time(alert.published) or "-"
    feeds = "/".join(alert.feeds) or alert.feed
    return (f"{format_time(alert.detected_at)}  {alert.topic}  [{plain(feeds, 80)}]"
            f"  {plain(alert.title, 160)}  ({when})  {alert.url or ''}"
            + (f"  terms: {plain(terms, 120)}" if terms else ""))


def print_alerts_table(alerts: Sequence[Alert], out: TextIO) -> None:
    table = Table(show_lines=False, header_style="bold")
    for column in ("detected (UTC)", "topic", "feeds", "title", "published", "terms"):
        table.add_column(column, overflow="fold")
    for a in alerts:
        # Text(), not markup: a title like "[bold]" must print as it is.
        table.add_row(_short_time(a.detected_at), a.topic,
                      Text(plain(", ".join(a.feeds) or a.feed, 60)),
                      Text(plain(a.title, 140) + (f"\n{plain(a.url, 200)}" if a.url else "")),
                      _short_time(a.published),
                      Text(plain(", ".join(dict.fromkeys(e.term for e in a.evidence)), 80)))
    Console(file=out).print(table)


def _short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def feed_json(status: FeedStatus) -> str:
    s = status.state
    return json.dumps({
        "name": status.spec.name, "url": status.spec.url, "language": status.spec.language,
        "status": s.status, "http_status": s.http_status, "articles": status.articles,
        "errors": s.errors, "last_error": s.last_error, "last_poll": format_time(s.last_poll),
        "last_success": format_time(s.last_success), "next_poll": format_time(s.next_poll),
        "interval": status.spec.interval.total_seconds(),
    }, ensure_ascii=False)


def print_feeds_table(statuses: Sequence[FeedStatus], out: TextIO, *, color: bool) -> None:
    table = Table(header_style="bold")
    for column in ("feed", "status", "http", "last poll", "next poll", "errors", "articles",
                   "last error", "url"):
        table.add_column(column, overflow="fold")
    for st in statuses:
        s = st.state
        status = s.status if not color else {
            "error": "[red]error[/red]", "gone": "[red]gone[/red]", "ok": "[green]ok[/green]",
        }.get(s.status, s.status)
        table.add_row(st.spec.name, status, str(s.http_status or "-"), _short_time(s.last_poll),
                      _short_time(s.next_poll) if s.status != "gone" else "stopped",
                      str(s.errors), str(st.articles), Text(plain(s.last_error, 120) or "-"),
                      Text(plain(st.spec.url, 120)))
    Console(file=out, no_color=not color, highlight=False).print(table)
