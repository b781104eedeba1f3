"""Where a hit ends in a text, and the snippet shown around it.

This module does no I/O.
"""

from __future__ import annotations

import re

from monitor.topics.text import TOKEN


def hit_end(text: str, offset: int, words: int) -> int:
    """The end of the ``words`` tokens that start at ``offset`` in ``text``."""
    end = offset
    for i, m in enumerate(TOKEN.finditer(text, offset)):
        end = m.end()
        if i + 1 >= words:
            break
    return end


def snippet(text: str, start: int, end: int, *, width: int = 50) -> tuple[str, int, int]:
    """About 100 characters around ``text[start:end]``, whitespace collapsed, "…" where cut.

    Returns the snippet and where the hit sits inside it.
    """
    left = max(0, start - width)
    right = min(len(text), end + width)
    # cut at a space, not inside a word
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    before, hit, after = text[left:start], text[start:end], text[end:right]
    window = text[left:right]
    if "  " in window or not window.isprintable():
        # whitespace other than single spaces (the one printable whitespace) to collapse
        before, hit, after = map(_collapse_space, (before, hit, after))
    before, after = before.lstrip(), after.rstrip()
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    out = prefix + before + hit + after + suffix
    hit_start = len(prefix) + len(before)
    return out, hit_start, hit_start + len(hit)


_SPACE = re.compile(r"\s+")


def _collapse_space(text: str) -> str:
    return _SPACE.sub(" ", text)
