"""The encoding of a feed body, chosen as feedparser chooses it, for the fast path.

feedparser tries, in order, the encoding the HTTP Content-Type implies (RFC 3023: a
``text/*`` type without a charset is US-ASCII), the XML declaration's, the BOM's, a
guess, UTF-8, windows-1252 and ISO-8859-2. :func:`to_utf8` follows the same order up to
the guess and declines past it (the fast path reads no body feedparser would have to
guess at), and reports the same recovery reason (``bozo``) feedparser would.

It parses no XML: it gives :mod:`monitor.parsing.xml_feed` UTF-8 bytes without a
declaration.
"""

from __future__ import annotations

from collections.abc import Mapping

from feedparser.encodings import RE_XML_DECLARATION, RE_XML_PI_ENCODING, parse_content_type

from monitor.parsing.xml_names import Declined

_XML_TYPES = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_XML_TYPES = ("text/xml", "text/xml-external-parsed-entity")


def to_utf8(content: bytes, headers: Mapping[str, str]) -> tuple[bytes, str | None]:
    """The body as UTF-8 with its declaration dropped, decoded as feedparser decodes it
    (its candidate encodings in its order, up to but not including guessing)."""
    data = content
    bom = ""
    if data[:3] == b"\xef\xbb\xbf":
        bom, data = "utf-8", data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:1] in (b"\x00", b"\x4c"):
        raise Declined("UTF-16, UTF-32 or EBCDIC")
    match = RE_XML_PI_ENCODING.match(data)
    declared = match.group(1).decode("utf-8", "replace").lower() if match else ""
    media, charset = parse_content_type(
        next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    )
    has_type = any(k.lower() == "content-type" for k in headers)
    acceptable = False
    if media in _XML_TYPES or (media.startswith("application/") and media.endswith("+xml")):
        acceptable, expected = True, charset or declared or "utf-8"
    elif media in _TEXT_XML_TYPES or (media.startswith("text/") and media.endswith("+xml")):
        acceptable, expected = True, charset or "us-ascii"
    elif media.startswith("text/"):
        expected = charset or "us-ascii"
    elif headers and not has_type:
        expected = declared or "iso-8859-1"
    else:
        expected = declared or "utf-8"
    if expected.lower() == "gb2312":
        expected = "gb18030"
    if declared == "gb2312":
        declared = "gb18030"
    text = None
    used = ""
    for candidate in dict.fromkeys(c for c in (expected, declared, bom) if c):
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        used = candidate
        break
    if text is None:
        raise Declined("the declared encodings do not decode it")
    bozo = None
    if used != expected:
        bozo = f"CharacterEncodingOverride: document declared as {expected}, but parsed as {used}"
    elif headers and not acceptable:
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        message = f"{kind} is not an XML media type" if kind else "no Content-type specified"
        bozo = f"NonXMLContentType: {message}"
    return RE_XML_DECLARATION.sub("", text, count=1).encode("utf-8"), bozo
