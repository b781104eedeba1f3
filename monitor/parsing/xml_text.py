"""Text and attributes of one element, cleaned up as feedparser's ``pop`` cleans them.

Pure functions over lxml elements for :mod:`monitor.parsing.xml_walker`: attributes by
lower-case local name, the character data (inline markup declines), feedparser's
strip / UTF-8-read-as-Latin-1 repair / windows-1252 mapping, its URI fixer and its
content types.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

from feedparser.html import _cp1252 as cp1252_points

from monitor.parsing.xml_names import Declined, element_name

HTML_TYPES = ("text/html", "application/xhtml+xml")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_UTF8_AS_LATIN1 = re.compile("[\xc2-\xf4][\x80-\xbf]")
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)")


def read_attrs(items: list[tuple[str, str]]) -> dict[str, str]:
    """Attributes by lower-case local name, as feedparser's SAX handler sees them."""
    found: dict[str, str] = {}
    for key, value in items:
        local = key.rsplit("}", 1)[-1].lower()
        found[local] = value.lower() if local in ("rel", "type") else value
    return found


def element_text(el: Any) -> str:
    """The element's character data; element children (inline markup) decline."""
    if len(el) == 0:
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise Declined(f"markup inside <{element_name(el)}>")
        parts.append(child.tail or "")
    return "".join(parts)


def finish_text(value: str, *, uri: bool = False) -> str:
    """feedparser's ``pop``: stripped, joined as a URI where it joins, UTF-8 read as
    Latin-1 repaired, windows-1252 code points mapped."""
    out = value.strip()
    if uri and "://" in out:
        out = join_bare(out)
    if not out.isascii():
        # The repair can only succeed where a UTF-8 lead byte read as Latin-1 is followed
        # by a continuation byte; elsewhere trying costs an exception, and Cyrillic or
        # German text never has that pair.
        if _UTF8_AS_LATIN1.search(out) is not None:
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                out = out.encode("iso-8859-1").decode("utf-8")
        if _C1_CONTROLS.search(out) is not None:  # translate costs a lookup per character
            out = out.translate(cp1252_points)
    return out


def join_bare(uri: str) -> str:
    """feedparser's ``_urljoin("", uri)``: ``urljoin`` with no base returns ``uri`` as it
    is, so what is left is its fixer, which drops the slashes after ``scheme://``."""
    found = _URI_FIXER.match(uri)
    if found is None or found.end(2) == found.start(2):
        return uri
    return found.group(1) + uri[found.end(2) :]


_TYPE_NAMES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}


def map_type(kind: str) -> str:
    kind = kind.lower()
    return _TYPE_NAMES.get(kind, kind)


def content_type(attrs: Mapping[str, str], default: str) -> str:
    """The text's content type; XHTML, base64 and the like decline."""
    if not attrs:
        return default  # every default is a text/ type
    if "mode" in attrs:
        raise Declined("an Atom 0.3 content mode")
    kind = map_type(attrs.get("type", default))
    if not kind.startswith("text/"):
        raise Declined(f"content of type {kind[:60]}")
    return kind
