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
_MARKUP_HINT = re.compile(r"<[A-Za-z/!]")
_RAW_LIMIT = 4 * 1024 * 1024
"""Characters of raw input looked at; what is stored is capped far below this anyway."""


_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,63})")
_TAG_STOP = re.compile(r"[>\"']")
_SKIP_END = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in _SKIP}


def _tag_end(text: str, pos: int) -> int:
    """Index just past the ``>`` closing the tag whose attributes start at ``pos`` (a
    ``>`` inside a quoted value does not close it); -1 when the tag never closes."""
    while True:
        stop = _TAG_STOP.search(text, pos)
        if stop is None:
            return -1
        if stop.group() == ">":
            return stop.end()
        close = text.find(stop.group(), stop.end())
        if close < 0:
            return -1
        pos = close + 1


# The common case of feed HTML: tags without quoted attributes (and without a "<" in
# them), no comments, CDATA, declarations or skipped elements. Each "<" of such markup
# starts one tag that ends at the next ">", just as the general walk below reads it, so
# substitutions give its result (a break element's tag becomes a space, any other tag
# nothing); whatever they leave a "<" in is read by the general walk instead.
# (A tag's name is a run of the characters its attributes may hold, so one run stands
# for both: a name and a run tried apart, where no ">" comes, backtracked through 64
# lengths of name on every "<": 50 times the general walk's time on "<a" + letters.
# Possessive: a run that ends at no ">" is not tried shorter, as no ">" is in it.)
_PLAIN_TAG = re.compile(r"</?[A-Za-z][^<>\"'\x01]*+>")
_PLAIN_BREAK_TAG = re.compile(
    rf"</?(?:{'|'.join(sorted(_BREAKS))})(?![A-Za-z0-9:-])[^<>\"'\x01]*+>", re.IGNORECASE | re.ASCII
)
_SKIP_START = re.compile(
    rf"<(?:{'|'.join(sorted(_SKIP))})(?![A-Za-z0-9:-])", re.IGNORECASE | re.ASCII
)


def _strip_plain_markup(text: str) -> str | None:
    """:func:`_strip_markup` of markup made only of plain tags; None for anything else."""
    if "\x01" in text or _SKIP_START.search(text) is not None:
        return None
    # Break elements' tags are marked first with a character no tag may hold (so that
    # what is left of the text cannot join into a tag the general walk would not see),
    # the other tags dropped, then the marks become spaces.
    stripped = _PLAIN_TAG.sub("", _PLAIN_BREAK_TAG.sub("\x01", text))
    if "<" in stripped:
        return None  # a comment, a quoted attribute, a lone "<": the general walk's
    return html.unescape(stripped.replace("\x01", " "))


def _strip_markup(text: str) -> str:
    """Text outside tags, comments and skipped elements."""
    plain = _strip_plain_markup(text)
    return plain if plain is not None else _strip_any_markup(text)


def _strip_any_markup(text: str) -> str:
    """Text outside tags, comments and skipped elements, in one pass.

    Every search starts where the last one ended, and a construct that never closes
    (a comment, a tag, a quote, a script) takes the rest of the input with it: the
    work is linear in the input, however the markup is broken. (html.parser rescans
    unclosed constructs, quadratic on ``<a b="`` repeated: minutes for 40 KB.)
    """
    parts: list[str] = []
    pos, size = 0, len(text)
    while pos < size:
        lt = text.find("<", pos)
        if lt < 0:
            parts.append(text[pos:])
            break
        parts.append(text[pos:lt])
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            pos = size if end < 0 else end + 3
            continue
        if text.startswith("<![CDATA[", lt):
            end = text.find("]]>", lt + 9)
            parts.append(text[lt + 9 : size if end < 0 else end])
            pos = size if end < 0 else end + 3
            continue
        tag = _TAG_NAME.match(text, lt)
        if tag is None:
            if text.startswith(("<!", "<?"), lt):  # a declaration or processing instruction
                end = text.find(">", lt)
                pos = size if end < 0 else end + 1
            else:  # a lone "<" is text ("a < b")
                parts.append("<")
                pos = lt + 1
            continue
        end = _tag_end(text, tag.end())
        if end < 0:
            break
        pos = end
        closing, name = tag.group(1), tag.group(2).lower()
        if name in _BREAKS:
            parts.append(" ")
        if name in _SKIP and not closing and text[end - 2] != "/":
            skipped = _SKIP_END[name].search(text, end)
            pos = size if skipped is None else skipped.end()
    return html.unescape("".join(parts))


def clean_text(text: str) -> str:
    """NFC, controls and zero-width characters removed, whitespace folded to one space."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if text.isprintable():
        # No control, format or separator character but the space (every character
        # _INVISIBLE removes is one, and so is all whitespace but the space): only
        # runs of spaces to fold, if any.
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text
        return " ".join(text.split())
    text = _INVISIBLE.sub("", text)
    # str.split() splits at exactly the characters ``\s`` matches: one join folds
    # every run (a regex substitution would replace every single space as well)
    return " ".join(text.split())


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment (or of plain text that may hold entities)."""
    if not value:
        return ""
    text = value[:_RAW_LIMIT]
    if "<" not in text and "&" not in text:
        return clean_text(text)  # plain text: no markup, no entities, nothing to parse
    if _MARKUP_HINT.search(text):
        text = _strip_markup(text)
    elif "&" in text:
        text = html.unescape(text)
    # Feeds often escape twice (``&amp;quot;``, ``&amp;lt;b&amp;gt;``): what is left
    # still reads as an entity, and no reader wants to see "&quot;" in a headline. Markup
    # escaped twice is still markup: its tags and attributes (an href full of words) are
    # not the article's words, so they are dropped like those escaped once.
    for _ in range(2):
        if _MARKUP_HINT.search(text) and _looks_escaped(value):
            text = _strip_markup(text)
        elif "&" in text and _ENTITY.search(text):
            text = html.unescape(text)
        else:
            break
    return clean_text(text)


def _looks_escaped(value: str) -> bool:
    """Whether the input holds escaped markup (so markup left now came from escapes)."""
    return "&lt;" in value or "&amp;lt;" in value or "&#60;" in value


def cap_text(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    if len(text) * 4 <= max_bytes:
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")
