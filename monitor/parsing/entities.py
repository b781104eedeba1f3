"""Refuses feeds that declare XML entities which expand: "billion laughs" and kin.

A feed may declare internal entities in its DOCTYPE, and a small body can then expand
to gigabytes of text (entities nested ten deep, or one large entity named in every
item). expat caps amplification only past 8 MiB of output, and feedparser's fallback
parser treats the document differently again, so the check is made on the bytes,
before any parser sees them. A feed keeps declarations that merely name one character
or a short word (``<!ENTITY nbsp "&#160;">``, as some CMSs emit); anything larger,
nested, a parameter entity, or too many declarations is the feed's ``parse_error``.

It does not parse feeds; :mod:`monitor.parsing.feed` calls :func:`check_entities` first.
"""

from __future__ import annotations

import re

from monitor.errors import ParseError

MAX_ENTITY_VALUE = 64
"""Characters an internal entity may expand to."""
MAX_ENTITIES = 256
"""Declarations one document may hold."""

_DECLARATION = re.compile(
    r"<!ENTITY\s+(%\s+)?([^\s>]{1,200})\s+(?:\"([^\"]*)\"|'([^']*)'|(SYSTEM|PUBLIC))"
)
_REFERENCE = re.compile(r"&[^#\s;]")


def _text(content: bytes) -> str | None:
    """The body as text if it may declare entities (any encoding an XML parser takes)."""
    head = content[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        for encoding in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
            try:
                text = content.decode(encoding)
            except UnicodeDecodeError:
                continue
            return text if "<!ENTITY" in text else None
        return None
    if b"<!ENTITY" not in content:
        return None
    return content.decode("latin-1")  # the markup is ASCII in every 8-bit encoding


def check_entities(content: bytes) -> None:
    """Raise ParseError when the body declares entities that could amplify it."""
    text = _text(content)
    if text is None:
        return
    count = 0
    for declaration in _DECLARATION.finditer(text):
        count += 1
        parameter, name, double, single, external = declaration.groups()
        value = double if double is not None else single
        if parameter:
            reason = f"a parameter entity ({name[:40]})"
        elif external:
            reason = f"an external entity ({name[:40]})"
        elif value is not None and len(value) > MAX_ENTITY_VALUE:
            reason = f"entity {name[:40]} of {len(value)} characters"
        elif value is not None and _REFERENCE.search(value):
            reason = f"entity {name[:40]} naming other entities"
        else:
            continue
        raise ParseError(f"refused: the feed declares {reason}, which could expand it")
    if count > MAX_ENTITIES:
        raise ParseError(f"refused: the feed declares {count} entities")
    if text.count("<!ENTITY") > count:
        raise ParseError("refused: the feed declares entities that cannot be read")
