"""A message carrying several alerts: a channel's digest, or its "N more alerts" summary.

A :class:`Batch` groups its alerts by topic, one story (alert) per entry with the outlets
that carried it, and renders as plain text, HTML and the webhook's JSON event. Every
string from a feed is cleaned (and escaped for HTML) as in :mod:`monitor.alerts.message`.
Pure; which alerts go in a batch and when it is sent is the outbox's business.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.alerts.message import clean, html_link, outlets_text, topic_label
from monitor.types import Alert, format_time

MAX_LISTED = 200
"""Stories listed in one message; the rest are counted ("and 12 more")."""


class BatchKind(StrEnum):
    DIGEST = "digest"
    """The channel's alerts of one digest period."""
    OVERFLOW = "overflow"
    """Alerts held back by the channel's rate, sent together when the window allows."""


@dataclass(frozen=True, slots=True)
class Batch:
    kind: BatchKind
    channel: str
    """The channel's readable name."""
    start: datetime
    end: datetime
    alerts: tuple[Alert, ...]

    def by_topic(self) -> list[tuple[str, list[Alert]]]:
        """(topic label, its stories in the order they were detected), topics in the
        order of their first story."""
        groups: dict[str, list[Alert]] = {}
        for alert in sorted(self.alerts, key=lambda a: a.detected_at):
            groups.setdefault(topic_label(alert), []).append(alert)
        return list(groups.items())

    def to_json(self) -> dict[str, object]:
        return {
            "kind": str(self.kind),
            "channel": self.channel,
            "period_start": format_time(self.start),
            "period_end": format_time(self.end),
            "count": len(self.alerts),
            "alerts": [a.to_json() for a in sorted(self.alerts, key=lambda a: a.detected_at)],
        }


def batch_subject(batch: Batch) -> str:
    n = len(batch.alerts)
    noun = "alert" if n == 1 else "alerts"
    if batch.kind is BatchKind.OVERFLOW:
        return f"[monitor] {n} more {noun}"
    topics = len(batch.by_topic())
    span = f"{format_time(batch.start)} to {format_time(batch.end)}"
    return f"[monitor] digest: {n} {noun} in {topics} topic{'s' if topics != 1 else ''}, {span}"


def _listed(batch: Batch, each: Callable[[str, list[Alert]], list[str]]) -> list[str]:
    lines: list[str] = []
    shown = 0
    for label, alerts in batch.by_topic():
        room = MAX_LISTED - shown
        if room <= 0:
            break
        lines += each(label, alerts[:room])
        shown += min(room, len(alerts))
    return lines


def render_batch_text(batch: Batch) -> str:
    """Plain text, for e-mail, chat services and terminals: nothing to escape."""
    lines = [batch_subject(batch), ""]

    def topic(label: str, alerts: list[Alert]) -> list[str]:
        out = [f"{label} ({len(alerts)})"]
        for alert in alerts:
            out.append(f"- {clean(alert.title)}")
            if alert.url:
                out.append(f"  {clean(alert.url, 2000)}")
            if outlets := outlets_text(alert):
                out.append(f"  Outlets: {outlets}")
        return [*out, ""]

    lines += _listed(batch, topic)
    rest = len(batch.alerts) - min(len(batch.alerts), MAX_LISTED)
    if rest:
        lines.append(f"… and {rest} more")
    return "\n".join(lines).rstrip() + "\n"


def render_batch_html(batch: Batch) -> str:
    esc = html.escape
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
        f"<h2>{esc(batch_subject(batch))}</h2>",
    ]

    def topic(label: str, alerts: list[Alert]) -> list[str]:
        out = [f"<h3>{esc(label)} ({len(alerts)})</h3>", "<ul>"]
        for alert in alerts:
            outlets = outlets_text(alert)
            out.append(
                f"<li><b>{esc(clean(alert.title))}</b><br>{html_link(alert.url)}"
                + (f"<br>Outlets: {esc(outlets)}" if outlets else "")
                + "</li>"
            )
        return [*out, "</ul>"]

    parts += _listed(batch, topic)
    rest = len(batch.alerts) - min(len(batch.alerts), MAX_LISTED)
    if rest:
        parts.append(f"<p>… and {rest} more</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def batch_payload(batch: Batch, text: str | None = None) -> bytes:
    """The webhook body: ``{"type": "alert.digest"|"alert.batch", "timestamp", "data"}``."""
    event: dict[str, object] = {
        "type": "alert.digest" if batch.kind is BatchKind.DIGEST else "alert.batch",
        "timestamp": format_time(batch.end),
        "data": batch.to_json(),
    }
    if text is not None:
        event["text"] = text
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
