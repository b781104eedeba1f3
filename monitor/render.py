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

from monitor.types import Alert, Article, PollStatus, format_time

if TYPE_CHECKING:
    from monitor.pipeline import FeedOutcome
    from monitor.service.delivery import DeliverySummary
    from monitor.storage import FeedStatus

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str | None, limit: int = 300) -> str:
    """One line of untrusted text, safe for a terminal."""
    cleaned = _CONTROL.sub("", " ".join((text or "").split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def alert_json(alert: Alert, *, muted: bool = False) -> str:
    record = alert.to_json()
    if muted:
        record["muted"] = True
    return json.dumps(record, ensure_ascii=False)


def alert_line(alert: Alert, *, muted: bool = False) -> str:
    """One alert as one readable line (pipes, logs); ``[muted]`` last when a mute held it
    (where a reader of the line, or ``grep '\\[muted\\]$'``, finds it)."""
    terms = ", ".join(dict.fromkeys(e.term for e in alert.evidence))
    when = format_time(alert.published) or "-"
    feeds = "/".join(alert.feeds) or alert.feed
    return (
        f"{format_time(alert.detected_at)}  {alert.topic}  [{plain(feeds, 80)}]"
        f"  {plain(alert.title, 160)}  ({when})  {alert.url or ''}"
        + (f"  terms: {plain(terms, 120)}" if terms else "")
        + (f"  snippet: {plain(alert.evidence[0].snippet, 200)}" if alert.evidence else "")
        + ("  [muted]" if muted else "")
    )


def print_alerts_table(
    alerts: Sequence[Alert], out: TextIO, *, muted: frozenset[str] | set[str] = frozenset()
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold")
    for column in ("detected (UTC)", "topic", "feeds", "title", "published", "terms"):
        table.add_column(column, overflow="fold")
    for a in alerts:
        # Text(), not markup: a title like "[bold]" must print as it is.
        table.add_row(
            _short_time(a.detected_at),
            a.topic + (" (muted)" if a.id in muted else ""),
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
        why = _silent_matches(o.linked, o.old, o.matched - topic_alerts, catch_up=catch_up)
        if why:
            line += f": {why}"
        if o.error:
            line += f" — {plain(o.error)}"
        lines.append(line)
    lines += [f"skipped {name}: {plain(reason)}" for name, reason in skipped]
    total_new = sum(o.new for o in outcomes)
    total_alerts = sum(1 for o in outcomes for a in o.alerts if a.kind == "topic")
    failed = sum(o.status is PollStatus.ERROR for o in outcomes)
    lines.append(
        f"polled {_count(len(outcomes), 'feed')}: {_count(total_new, 'new article')}, "
        f"{_count(total_alerts, 'alert')}, {failed} failed"
        + (f", {len(skipped)} skipped" if skipped else "")
        + (" (catch-up: no alerts raised)" if catch_up else "")
    )
    return lines


def _silent_matches(linked: int, old: int, silent: int, *, catch_up: bool) -> str:
    """Why matches raised no alert of their own (the poll summary): they joined a story
    already alerted, were older than max_age, or the poll was a catch-up."""
    if silent <= 0:
        return ""
    if catch_up:
        return f"{silent} not alerted (catch-up)"
    reasons = []
    if linked:
        reasons.append(f"{linked} joined a story already alerted")
    if old:
        reasons.append(f"{old} older than max_age")
    return ", ".join(reasons)


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


def next_poll_reason(status: FeedStatus) -> str | None:
    """The stored reason of the next poll (``next_poll_reason`` in ``--json``); None for
    a disabled feed (no poll comes), ``gone`` for a gone one."""
    shown = shown_status(status)
    if shown == "disabled":
        return None
    return "gone" if shown == "gone" else (status.state.next_poll_reason or "interval")


def next_poll_why(status: FeedStatus) -> str:
    """Why the next poll is when it is, in a few words: interval, backoff after N
    errors, retry-after, cache hint, hot, gone (``-`` for a disabled feed)."""
    reason = next_poll_reason(status)
    if reason is None:
        return "-"
    s = status.state
    if reason == "backoff":
        return f"backoff after {_count(s.errors, 'error')}"
    if reason == "hot" and s.hot_until is not None:
        until = s.hot_until.astimezone(UTC).strftime("%H:%M")
        return f"hot: {plain(s.hot_topic or '?', 100)} until {until}"
    return reason.replace("-", " ") if reason == "cache-hint" else reason


def feed_json(status: FeedStatus) -> str:
    s = status.state
    shown = shown_status(status)
    return json.dumps(
        {
            "name": status.spec.name,
            "url": status.spec.url,
            "language": status.spec.language,
            "enabled": status.spec.enabled,
            "status": shown,
            "http_status": s.http_status,
            "articles": status.articles,
            "errors": s.errors,
            "last_error": s.last_error,
            "last_poll": format_time(s.last_poll),
            "last_success": format_time(s.last_success),
            "next_poll": format_time(_next_poll(status)),
            "next_poll_reason": next_poll_reason(status),
            "failing_since": format_time(s.failing_since),
            "moved_to": s.moved_to,
            "hot": (
                {"topic": s.hot_topic, "until": format_time(s.hot_until)}
                if s.next_poll_reason == "hot" and shown not in ("disabled", "gone")
                else None
            ),
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
    "why",
    "moved to",
)
"""Columns are only ever added at the end: scripts cut them by position."""


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
                    next_poll_why(st),
                    plain(s.moved_to, 2048) or "-",
                )
            )
        )
    return lines


def relative(value: datetime | None, now: datetime) -> str:
    """``in 4 min``, ``3 h ago``, ``now``; ``-`` for nothing."""
    if value is None:
        return "-"
    seconds = (value - now).total_seconds()
    size = abs(seconds)
    if size < 45:
        return "now"
    if size < 90 * 60:
        amount = f"{round(size / 60)} min"
    elif size < 36 * 3600:
        amount = f"{round(size / 3600)} h"
    else:
        amount = f"{round(size / 86400)} d"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


_STATUS_STYLE = {"error": "red", "gone": "red", "ok": "green", "disabled": "dim"}


def print_feeds_table(
    statuses: Sequence[FeedStatus], out: TextIO, *, color: bool, now: datetime, width: int = 100
) -> None:
    """One line per feed, fitting ``width`` columns: times relative to ``now``; the URL
    and the whole error are in ``--json`` and the piped form."""
    header = ("feed", "status", "last ok", "next poll", "why", "err", "arts", "note")
    rows = []
    for st in statuses:
        s = st.state
        shown = shown_status(st)
        next_poll = {"disabled": "-", "gone": "stopped"}.get(shown) or relative(s.next_poll, now)
        note = f"moved to {s.moved_to}" if s.moved_to else (s.last_error or "-")
        rows.append(
            (
                plain(st.spec.name, 200),
                shown,
                relative(s.last_success, now),
                next_poll,
                next_poll_why(st),
                str(s.errors),
                str(st.articles),
                plain(note, 300),
            )
        )
    caps = (20, 12, 9, 9, 22, 3, 6)  # the note takes what is left
    widths = [
        min(cap, max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]))
        for i, cap in enumerate(caps)
    ]
    rest = max(8, width - sum(widths) - 2 * len(widths))
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, no_color=not color, highlight=False, width=width, soft_wrap=True)
    for index, row in enumerate([header, *rows]):
        cells = [
            _fit(v, w).rjust(w) if i in (5, 6) else _fit(v, w).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=False))
        ]
        line = Text("  ".join(cells) + "  " + _fit(row[7], rest))
        if index == 0:
            line.stylize("bold")
        elif color and row[1] in _STATUS_STYLE:
            start = len(cells[0]) + 2
            line.stylize(_STATUS_STYLE[row[1]], start, start + len(row[1]))
        line.rstrip()
        console.print(line, overflow="ignore", crop=False)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
