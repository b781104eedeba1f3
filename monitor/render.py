"""How commands print: alert lines and tables for people, JSON Lines for programs.

Feed-supplied strings are stripped of control characters before they reach a
terminal (an article title must not be able to move the cursor or change colours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.storage import FeedStatus
from monitor.types import Alert, Article, format_time

if TYPE_CHECKING:
    from monitor.pipeline import FeedOutcome
    from monitor.service.delivery import DeliverySummary

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
    return (
        f"{format_time(alert.detected_at)}  {alert.topic}  [{plain(feeds, 80)}]"
        f"  {plain(alert.title, 160)}  ({when})  {alert.url or ''}"
        + (f"  terms: {plain(terms, 120)}" if terms else "")
        + (f"  snippet: {plain(alert.evidence[0].snippet, 200)}" if alert.evidence else "")
    )


def print_alerts_table(alerts: Sequence[Alert], out: TextIO) -> None:
    table = Table(show_lines=False, header_style="bold")
    for column in ("detected (UTC)", "topic", "feeds", "title", "published", "terms"):
        table.add_column(column, overflow="fold")
    for a in alerts:
        # Text(), not markup: a title like "[bold]" must print as it is.
        table.add_row(
            _short_time(a.detected_at),
            a.topic,
            Text(plain(", ".join(a.feeds) or a.feed, 60)),
            Text(
                plain(a.title, 140)
                + (f"\n{plain(a.url, 200)}" if a.url else "")
                + (f"\n“{plain(a.evidence[0].snippet, 160)}”" if a.evidence else "")
            ),
            _short_time(a.published),
            Text(plain(", ".join(dict.fromkeys(e.term for e in a.evidence)), 80)),
        )
    Console(file=out).print(table)


def replay_change(
    sign: str, article: Article, topic: str, terms: Sequence[str], *, as_json: bool
) -> str:
    """One match `monitor replay` would add (``+``) or drop (``-``)."""
    unique = list(dict.fromkeys(terms))
    if as_json:
        return json.dumps(
            {
                "change": "added" if sign == "+" else "dropped",
                "topic": topic,
                "feed": article.feed,
                "title": article.title,
                "url": article.url,
                "terms": unique,
            },
            ensure_ascii=False,
        )
    return f"{sign} {topic}  {article.feed}  {plain(article.title, 140)}  {article.url or ''}" + (
        f"  terms: {plain(', '.join(unique), 200)}" if unique else ""
    )


def poll_report(
    outcomes: Sequence[FeedOutcome], skipped: Sequence[tuple[str, str]], *, catch_up: bool
) -> list[str]:
    """`monitor poll`: a line per feed polled, one per feed left out and why, a total."""
    lines = []
    for o in sorted(outcomes, key=lambda o: o.feed):
        line = f"{o.feed}: {o.status}"
        if o.http_status:
            line += f" (HTTP {o.http_status})"
        topic_alerts = sum(a.kind == "topic" for a in o.alerts)
        line += f", {o.new} new, {o.matched} matched, {_count(topic_alerts, 'alert')}"
        if o.linked:
            line += f" ({o.linked} joined a story already alerted)"
        if o.error:
            line += f" — {plain(o.error)}"
        lines.append(line)
    lines += [f"skipped {name}: {plain(reason)}" for name, reason in skipped]
    total_new = sum(o.new for o in outcomes)
    total_alerts = sum(1 for o in outcomes for a in o.alerts if a.kind == "topic")
    failed = sum(o.status == "error" for o in outcomes)
    lines.append(
        f"polled {_count(len(outcomes), 'feed')}: {_count(total_new, 'new article')}, "
        f"{_count(total_alerts, 'alert')}, {failed} failed"
        + (f", {len(skipped)} skipped" if skipped else "")
        + (" (catch-up: no alerts raised)" if catch_up else "")
    )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def delivery_report(
    summary: DeliverySummary, left: dict[str, tuple[int, int, str | None]]
) -> list[str]:
    """`monitor deliver`: what this flush tried, then what is still undelivered per channel.

    Counted in deliveries (one alert to one channel), not alerts: a channel whose
    attempt fails keeps the rest of its queue for the retry, so one failed attempt
    can leave many alerts pending.
    """
    lines = [
        f"re-enabled {channel} (disabled by its receiver): {queued} alert(s) it missed queued again"
        for channel, queued in sorted(summary.enabled.items())
    ]
    tried = summary.delivered + summary.failed + summary.dead
    pending = sum(p for p, _, _ in left.values())
    dead = sum(d for _, d, _ in left.values())
    lines.append(
        f"attempted {tried} deliver{'y' if tried == 1 else 'ies'} (an alert to a "
        f"channel): delivered {summary.delivered}, {summary.failed} failed (will "
        f"retry), dead {summary.dead} (given up); pending now {pending}, dead "
        f"letters {dead}"
    )
    for channel, (n_pending, n_dead, error) in sorted(left.items()):
        lines.append(
            f"  {channel}: {n_pending} pending, {n_dead} dead — "
            f"{summary.errors.get(channel) or error or 'not tried yet'}"
        )
    return lines


def _short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def shown_status(status: FeedStatus) -> str:
    """A feed's status as `monitor feeds` shows it: ``disabled`` when the configuration
    turns it off (its stored poll state says how it last went, not what happens now)."""
    return status.state.status if status.spec.enabled else "disabled"


def _next_poll(status: FeedStatus) -> datetime | None:
    """None when no poll will come: the feed is disabled, or gone (410: polling stopped)."""
    return status.state.next_poll if shown_status(status) not in ("disabled", "gone") else None


def feed_json(status: FeedStatus) -> str:
    s = status.state
    return json.dumps(
        {
            "name": status.spec.name,
            "url": status.spec.url,
            "language": status.spec.language,
            "enabled": status.spec.enabled,
            "status": shown_status(status),
            "http_status": s.http_status,
            "articles": status.articles,
            "errors": s.errors,
            "last_error": s.last_error,
            "last_poll": format_time(s.last_poll),
            "last_success": format_time(s.last_success),
            "next_poll": format_time(_next_poll(status)),
            "interval": status.spec.interval.total_seconds(),
        },
        ensure_ascii=False,
    )


FEED_COLUMNS = (
    "feed",
    "status",
    "http",
    "last poll",
    "next poll",
    "errors",
    "articles",
    "last error",
    "url",
)


def feed_lines(statuses: Sequence[FeedStatus]) -> list[str]:
    """`monitor feeds` for a pipe: a header, then one tab-separated line per feed.

    No field is empty (``-`` stands for nothing) and none holds a tab or a line
    break, so ``cut -f`` and ``awk -F'\t'`` see the same columns on every line.
    """
    lines = ["\t".join(c.replace(" ", "_") for c in FEED_COLUMNS)]
    for st in statuses:
        s = st.state
        status = shown_status(st)
        next_poll = {"disabled": "disabled", "gone": "stopped"}.get(status) or (
            format_time(s.next_poll) or "-"
        )
        lines.append(
            "\t".join(
                (
                    plain(st.spec.name, 200),
                    status,
                    str(s.http_status or "-"),
                    format_time(s.last_poll) or "-",
                    next_poll,
                    str(s.errors),
                    str(st.articles),
                    plain(s.last_error, 300) or "-",
                    plain(st.spec.url, 2048),
                )
            )
        )
    return lines


def print_feeds_table(statuses: Sequence[FeedStatus], out: TextIO, *, color: bool) -> None:
    table = Table(header_style="bold")
    for column in FEED_COLUMNS:
        table.add_column(column, overflow="fold")
    for st in statuses:
        s = st.state
        shown = shown_status(st)
        status = (
            shown
            if not color
            else {
                "error": "[red]error[/red]",
                "gone": "[red]gone[/red]",
                "ok": "[green]ok[/green]",
                "disabled": "[dim]disabled[/dim]",
            }.get(shown, shown)
        )
        next_poll = {"disabled": "-", "gone": "stopped"}.get(shown) or _short_time(s.next_poll)
        table.add_row(
            st.spec.name,
            status,
            str(s.http_status or "-"),
            _short_time(s.last_poll),
            next_poll,
            str(s.errors),
            str(st.articles),
            Text(plain(s.last_error, 120) or "-"),
            Text(plain(st.spec.url, 120)),
        )
    Console(file=out, no_color=not color, highlight=False).print(table)
