"""The text of an alert for people: plain text, Markdown, HTML and a one-line subject.

Every string in an alert except its topic id and times came from a feed (or from an
operator event that quotes one) and is untrusted: Markdown output escapes every
character Markdown would interpret, HTML output escapes every string, and only
http(s) URLs become links. Pure functions; sending is the channels' job.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

from monitor.types import Alert, format_time

MAX_TITLE = 300
MAX_SNIPPET = 300
MAX_EVIDENCE = 10

_SPACE = re.compile(r"\s+")
# Controls (C0, DEL, C1) and bidi overrides, which can disguise text in a client.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# CommonMark lets a backslash escape every ASCII punctuation character, so escaping
# them all is safe in every dialect and leaves nothing for a renderer to interpret.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def clean(text: str | None, limit: int = MAX_TITLE) -> str:
    """One line of printable text, at most ``limit`` characters."""
    if not text:
        return ""
    one_line = _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return one_line


def escape_markdown(text: str) -> str:
    """Backslash-escape every ASCII punctuation character (the text is one line)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_link(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None."""
    if not url:
        return None
    url = url.strip()
    if _INVISIBLE.search(url) or _SPACE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def topic_label(alert: Alert) -> str:
    """The topic's readable name, cleaned."""
    return clean(alert.topic_name or alert.topic)


_topic = topic_label


def outlets_text(alert: Alert) -> str:
    """``TASS (…18:03:00Z), DW (…18:10:00Z)``: the outlets in the order they carried it
    (an outlet is its feed's name where none is configured), as in the alert's
    ``outlets``."""
    parts = []
    for sighting in alert.sightings() if alert.has_story else ():
        when = format_time(sighting.at)
        name = sighting.source.outlet
        parts.append(f"{name} ({when})" if when else name)
    return clean(", ".join(parts), 1000)


def _feeds(alert: Alert) -> str:
    return clean(", ".join(alert.feeds or (alert.feed,)))


def _published(alert: Alert) -> str:
    return format_time(alert.published) or "unknown"


def _evidence(alert: Alert) -> list[tuple[str, str, str]]:
    """(term, field, snippet) of the first evidence items, cleaned."""
    return [
        (clean(e.term, 100), clean(e.field, 20), clean(e.snippet, MAX_SNIPPET))
        for e in alert.evidence[:MAX_EVIDENCE]
    ]


def subject(alert: Alert) -> str:
    """One line for an e-mail subject or a notification title (not escaped)."""
    if alert.kind == "operator":
        return clean(f"[monitor] {alert.title}", 200)
    return clean(f"[{_topic(alert)}] {alert.title}", 200)


def render_text(alert: Alert) -> str:
    """Plain text, for e-mail and terminals."""
    lines = [subject(alert), ""]
    if alert.kind == "operator":
        if alert.summary:
            lines += [clean(alert.summary, 2000), ""]
        lines.append(f"Detected: {format_time(alert.detected_at)}")
        return "\n".join(lines) + "\n"
    lines += [
        f"Topic:     {_topic(alert)}",
        f"Title:     {clean(alert.title)}",
        f"Feeds:     {_feeds(alert)}",
        f"Published: {_published(alert)}",
        f"Link:      {clean(alert.url, 2000) or '-'}",
    ]
    evidence = _evidence(alert)
    if evidence:
        lines += ["", "Matched:"]
        lines += [f"- {term} ({field}): {snippet}" for term, field, snippet in evidence]
    return "\n".join(lines) + "\n"


def _md_link(url: str | None) -> str:
    link = safe_link(url)
    if link is None:
        return escape_markdown(clean(url, 2000)) if url else "\\-"
    # An autolink cannot contain spaces, < or >; safe_link already refused spaces.
    return "<" + quote(link, safe=":/?#[]@!$&'()*+,;=%-._~") + ">"


def render_markdown(alert: Alert) -> str:
    """Markdown (CommonMark subset every chat service understands)."""
    md = escape_markdown
    if alert.kind == "operator":
        body = [f"**{md(subject(alert))}**"]
        if alert.summary:
            body.append(md(clean(alert.summary, 2000)))
        body.append(f"Detected: {md(format_time(alert.detected_at) or '')}")
        return "\n\n".join(body) + "\n"
    lines = [
        f"**{md(clean(alert.title))}**",
        "",
        f"Topic: {md(_topic(alert))}  ",
        f"Feeds: {md(_feeds(alert))}  ",
        f"Published: {md(_published(alert))}  ",
        f"Link: {_md_link(alert.url)}",
    ]
    evidence = _evidence(alert)
    if evidence:
        lines += ["", "Matched:", ""]
        lines += [f"\\- *{md(t)}* \\({md(f)}\\): {md(s)}  " for t, f, s in evidence]
    return "\n".join(lines) + "\n"


def html_link(url: str | None) -> str:
    """An escaped ``<a>`` for an http(s) URL, else the escaped text."""
    return _html_link(url)


def _html_link(url: str | None) -> str:
    link = safe_link(url)
    if link is None:
        return html.escape(clean(url, 2000)) if url else "-"
    href = html.escape(link, quote=True)
    return f'<a href="{href}" rel="noopener noreferrer">{html.escape(clean(link, 200))}</a>'


def render_html(alert: Alert) -> str:
    """A small HTML document, for e-mail."""
    esc = html.escape
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>',
        f"<h2>{esc(subject(alert))}</h2>",
    ]
    if alert.kind == "operator":
        if alert.summary:
            parts.append(f"<p>{esc(clean(alert.summary, 2000))}</p>")
        parts.append(f"<p>Detected: {esc(format_time(alert.detected_at) or '')}</p>")
    else:
        rows = [
            ("Topic", esc(_topic(alert))),
            ("Title", esc(clean(alert.title))),
            ("Feeds", esc(_feeds(alert))),
            ("Published", esc(_published(alert))),
            ("Link", _html_link(alert.url)),
        ]
        parts.append("<table>")
        parts += [f'<tr><th align="left">{k}</th><td>{v}</td></tr>' for k, v in rows]
        parts.append("</table>")
        evidence = _evidence(alert)
        if evidence:
            parts.append("<p>Matched:</p><ul>")
            parts += [f"<li><b>{esc(t)}</b> ({esc(f)}): {esc(s)}</li>" for t, f, s in evidence]
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
