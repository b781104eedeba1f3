"""`monitor alerts show ID`: one alert in full, for a terminal or a pipe.

The evidence snippets with the hit terms marked (bold on a terminal, ``[[term]]`` in a
pipe), the rule that fired, the outlets in the order they carried the story (first
reporter marked) with their articles' times, and the delivery state per channel.
Feed-supplied text is stripped of control characters (:func:`monitor.render.plain`).
Reads nothing itself: it formats a :class:`~monitor.storage.console.StoryDetail`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.render import plain
from monitor.storage.console import StoryDetail
from monitor.topics.spec import TopicConfig
from monitor.types import format_time
from monitor.web.highlight import highlight_segments
from monitor.web.stories import describe_rule, fired_rule, story_articles, story_outlets

__all__ = ["format_alert_detail"]

_BOLD_RED = "\x1b[1;31m"
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"


def _marked(snippet: str, terms: Sequence[str], *, color: bool) -> str:
    text = plain(snippet, 400)
    out = []
    for part, hit in highlight_segments(text, terms):
        if hit:
            out.append(f"{_BOLD_RED}{part}{_RESET}" if color else f"[[{part}]]")
        else:
            out.append(part)
    return "".join(out)


def format_alert_detail(
    detail: StoryDetail,
    topics: Sequence[TopicConfig],
    channels: Mapping[str, str],
    *,
    color: bool,
) -> list[str]:
    alert = detail.alert
    terms = [e.term for e in alert.evidence]

    def head(text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if color else text

    lines = [
        head(plain(alert.title, 300)),
        f"  id:        {alert.id}",
        f"  topic:     {alert.topic}"
        + (f" ({plain(alert.topic_name, 100)})" if alert.topic_name else ""),
        f"  kind:      {alert.kind}",
        f"  url:       {plain(alert.url, 2048) or '-'}",
        f"  published: {format_time(alert.published) or '-'}",
        f"  detected:  {format_time(alert.detected_at)}",
        "",
        head("Evidence"),
    ]
    if not alert.evidence:
        lines.append("  (none)")
    for e in alert.evidence:
        lines.append(
            f"  {plain(e.term, 80)!r} in {e.field}: {_marked(e.snippet, terms, color=color)}"
        )
    topic = next((t for t in topics if t.id == alert.topic), None)
    fired = fired_rule(topic, terms) if topic is not None else None
    lines += ["", head("Rule that fired")]
    if not alert.has_story:
        lines.append(f"  (none: a {alert.kind} alert is about no one story)")
    elif fired is None:
        lines.append("  (unknown: the topic is not configured as it was)")
    else:
        if fired.of > 1:
            lines.append(f"  rule {fired.number} of {fired.of}")
        lines += [f"  {line}" for line in describe_rule(fired.rule)]
    articles = story_articles(alert, detail.articles, detail.candidates)
    lines += ["", head("Outlets (in the order they carried it)")]
    for outlet in story_outlets(alert, articles):
        mark = "  first reporter" if outlet.first else ""
        lines.append(
            f"  {plain(outlet.name or outlet.feed, 200):<20} "
            f"{format_time(outlet.carried_at) or '-':<21}{mark}"
            + (
                f"  (feed {plain(outlet.feed, 200)})"
                if outlet.name not in ("", outlet.feed)
                else ""
            )
        )
    if articles:
        lines += ["", head("Articles")]
    for a in articles:
        lines.append(
            f"  {plain(a.feed, 200)}: {plain(a.title, 200)}"
            + f"  (first seen {format_time(a.first_seen)}"
            + (f", published {format_time(a.published)}" if a.published else "")
            + ")"
        )
        if a.url:
            lines.append(f"    {plain(a.url, 2048)}")
    lines += ["", head("Delivery")]
    if not detail.deliveries:
        lines.append("  (no delivery recorded)")
    for d in detail.deliveries:
        # The outbox keys a channel by its kind and target; its readable name is the
        # configuration's (a channel no longer configured shows its key).
        name = "alert log" if d.channel == "log" else channels.get(d.channel, d.channel)
        kind = None if d.channel in (name, "log") else d.channel.partition(":")[0]
        state = d.status
        if d.status == "delivered":
            state += f" at {format_time(d.delivered_at)}"
        elif d.status == "pending":
            state += f", next attempt {format_time(d.next_attempt)}"
        state += f", {d.attempts} attempt" + ("" if d.attempts == 1 else "s")
        if d.last_error:
            state += f", last error: {plain(d.last_error, 200)}"
        lines.append(f"  {plain(name, 200)}" + (f" ({kind})" if kind else "") + f": {state}")
    return lines
