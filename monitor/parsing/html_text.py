"""HTML and feed text → clean plain text: one line, NFC, no entities, no control chars.

Feeds carry titles and bodies as HTML, as escaped HTML, sometimes escaped twice
(``&amp;quot;``), with no-break spaces between words and stray control characters.
:func:`html_to_text` drops markup (and the contents of script and style), decodes
entities, normalizes to Unicode NFC, folds every kind of whitespace (U+00A0 included)
into single spaces and strips NUL, C0/C1 controls and zero-width characters.
:func:`cap_text` cuts a string to a budget in UTF-8 bytes on a character boundary.

Pure functions; nothing here knows about feeds or articles.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "template", "noscript", "svg", "math"})
_BREAKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th",
        "tr", "ul",
    }
)  # fmt: skip
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\ufff9-\ufffb]")
_SPACES = re.compile(r"\s+")
_MARKUP_HINT = re.compile(r"<[A-Za-z/!]")
_RAW_LIMIT = 4 * 1024 * 1024
"""Characters of raw input looked at; what is stored is capped far below this anyway."""


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping.append(tag)
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _strip_markup(text: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(text)
        collector.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        return html.unescape(re.sub(r"<[^>]{0,2000}>", " ", text))
    return "".join(collector.parts)


def clean_text(text: str) -> str:
    """NFC, controls and zero-width characters removed, whitespace folded to one space."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment (or of plain text that may hold entities)."""
    if not value:
        return ""
    text = value[:_RAW_LIMIT]
    if _MARKUP_HINT.search(text):
        text = _strip_markup(text)
    elif "&" in text:
        text = html.unescape(text)
    # Feeds often escape twice (``&amp;quot;``): what is left still reads as an
    # entity, and no reader wants to see "&quot;" in a headline.
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    return clean_text(text)


def cap_text(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    if len(text) * 4 <= max_bytes:
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")
