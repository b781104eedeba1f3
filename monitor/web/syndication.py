"""Alerts as feeds to subscribe to: Atom (RFC 4287) and JSON Feed 1.1.

Pure: alerts and the console's absolute base URL in, bytes out. Each entry links to the
article (only an http(s) URL) and to its story page in the console. Feed-supplied text
is bounded, stripped of characters XML cannot carry, and escaped by the serializer
(ElementTree, json); nothing here reads the database or the clock.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

from monitor.types import Alert, format_time

__all__ = ["atom_feed", "is_web_url", "json_feed", "story_path"]

ATOM_NS = "http://www.w3.org/2005/Atom"
TITLE_MAX = 300
TEXT_MAX = 2000
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_WEB_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def is_web_url(url: str | None) -> bool:
    """Only http(s) links go out (never ``javascript:``, ``data:`` …)."""
    return bool(url) and _WEB_URL.fullmatch(url or "") is not None and len(url or "") <= 4096


def story_path(alert_id: str) -> str:
    return "/stories/" + quote(alert_id, safe="")


def _clean(text: str | None, limit: int) -> str:
    value = _NOT_XML.sub("", " ".join((text or "").split()))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _summary(alert: Alert) -> str:
    lines = [f"Topic: {alert.topic_name or alert.topic}", f"Outlets: {', '.join(alert.feeds)}"]
    lines += [f"{e.term} ({e.field}): {e.snippet}" for e in alert.evidence[:5]]
    if alert.summary:
        lines.append(alert.summary)
    return _clean("\n".join(lines), TEXT_MAX)


def _self_url(base: str, path: str, topic: str | None, since: datetime | None) -> str:
    query = {k: v for k, v in (("topic", topic), ("since", format_time(since))) if v}
    return base + path + ("?" + urlencode(query) if query else "")


def _feed_title(topic: str | None) -> str:
    return f"monitor alerts: {topic}" if topic else "monitor alerts"


def atom_feed(
    alerts: Sequence[Alert],
    *,
    base: str,
    topic: str | None,
    since: datetime | None,
    now: datetime,
) -> bytes:
    """An Atom feed of ``alerts`` (newest first); ``base`` is the console's root URL."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    self_url = _self_url(base, "/alerts.atom", topic, since)
    sub(feed, "id", self_url)
    sub(feed, "title", _feed_title(topic))
    newest = max((a.detected_at for a in alerts), default=now)
    sub(feed, "updated", format_time(newest) or "")
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=base + "/", type="text/html")
    author = sub(feed, "author")
    sub(author, "name", "monitor")
    sub(feed, "generator", "monitor")
    for alert in alerts:
        entry = sub(feed, "entry")
        story_url = base + story_path(alert.id)
        sub(entry, "id", f"urn:monitor:alert:{_clean(alert.id, 64)}")
        sub(entry, "title", _clean(alert.title, TITLE_MAX) or "(untitled)", type="text")
        sub(entry, "updated", format_time(alert.detected_at) or "")
        if alert.published is not None:
            sub(entry, "published", format_time(alert.published) or "")
        if is_web_url(alert.url):
            sub(entry, "link", rel="alternate", href=_clean(alert.url, 4096), type="text/html")
            sub(entry, "link", rel="related", href=story_url, type="text/html")
        else:
            sub(entry, "link", rel="alternate", href=story_url, type="text/html")
        sub(entry, "category", term=_clean(alert.topic, 100))
        sub(entry, "summary", _summary(alert), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def json_feed(
    alerts: Sequence[Alert],
    *,
    base: str,
    topic: str | None,
    since: datetime | None,
) -> bytes:
    """A JSON Feed 1.1 of ``alerts`` (newest first)."""
    items = []
    for alert in alerts:
        item: dict[str, object] = {
            "id": f"urn:monitor:alert:{alert.id}",
            "url": base + story_path(alert.id),
            "title": _clean(alert.title, TITLE_MAX) or "(untitled)",
            "content_text": _summary(alert),
            "date_modified": format_time(alert.detected_at),
            "tags": [alert.topic],
        }
        if is_web_url(alert.url):
            item["external_url"] = alert.url
        if alert.published is not None:
            item["date_published"] = format_time(alert.published)
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _feed_title(topic),
        "home_page_url": base + "/",
        "feed_url": _self_url(base, "/alerts.json", topic, since),
        "authors": [{"name": "monitor"}],
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False).encode()
