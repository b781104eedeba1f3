"""The main text of an article page (full text), extracted in a parser worker.

trafilatura (made for this: boilerplate removal tuned on news pages) keeps the article's
paragraphs and drops navigation, comments, ads and footers. It runs in a parser worker
process (:mod:`monitor.parsing.pool`) under a deadline, like feed parsing: a page built to
be slow to parse is killed with its worker, not the poll. The text comes back cleaned
(:func:`~monitor.parsing.html_text.clean_text`) and capped.

It neither fetches nor matches: :mod:`monitor.fulltext` does, with what this returns.
Raises ParseError (``not_html``, ``no_text``, ``parse_error``, ``parse_timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from monitor.errors import ParseError
from monitor.parsing.pool import ParserPool

TARGET = "monitor.parsing.article:extract_here"
MAX_TEXT_BYTES = 64 * 1024
"""More than any news article; what matching reads of one page."""
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.I)


def is_html(content: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the server says (or, saying nothing, the bytes show) that this is HTML."""
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if kind:
        return kind.split(";")[0].strip().lower() in _HTML_TYPES
    return bool(_HTML_START.match(content[:2048]))


def _decode(content: bytes, headers: Mapping[str, str]) -> str:
    from monitor.parsing.charset import guess_charset  # worker side: charset_normalizer

    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    declared = _CHARSET.search(kind)
    for codec in (declared.group(1) if declared else None, guess_charset(content, headers)):
        if codec:
            try:
                return content.decode(codec, "replace")
            except LookupError:
                continue
    return content.decode("utf-8", "replace")


def extract_here(content: bytes, *, url: str, headers: Mapping[str, str]) -> str:
    """The page's main text, in this process (what the worker runs)."""
    if not is_html(content, headers):
        raise ParseError("the page is not HTML", kind="not_html")
    import trafilatura  # imported in the worker only: it is large

    from monitor.parsing.html_text import cap_text, clean_text

    text = trafilatura.extract(
        _decode(content, headers),
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
        deduplicate=True,
    )
    text = clean_text(text or "")
    if not text:
        raise ParseError("no article text found on the page", kind="no_text")
    return cap_text(text, MAX_TEXT_BYTES)


def extract_article(
    content: bytes, *, url: str, headers: Mapping[str, str], deadline: float, pool: ParserPool
) -> str:
    """:func:`extract_here` in a worker of ``pool``, killed past ``deadline`` seconds."""
    value = pool.run(TARGET, content, url=url, headers=headers, deadline=deadline)
    if not isinstance(value, str):
        raise ParseError(f"the extractor returned {type(value).__name__}, not text")
    return value
