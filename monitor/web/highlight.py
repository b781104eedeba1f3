"""Where an evidence snippet shows the terms that hit: pure, shared by the console and
`monitor alerts show`.

A snippet is split into (text, is_hit) segments. A term hits a run of words that fold
(case, diacritics, ё/е, umlauts: :func:`monitor.topics.text.fold`) to the term's words,
the last one allowed an inflection ending of English, German or Russian or, for ``word*``, anything.
This module marks, it does not escape or print: the template engine escapes each
segment, the terminal renderer strips control characters.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.topics.text import ENDINGS, fold, tokenize

__all__ = ["Segment", "highlight_segments"]

Segment = tuple[str, bool]
"""(text, whether it is a hit)."""

_ENDINGS = frozenset().union(*ENDINGS.values())
"""What an inflected form may add to a plain word (Путин → Путиным, Gipfel → Gipfels)."""


def _term_words(term: str) -> tuple[list[str], bool]:
    prefix = term.rstrip().endswith("*")
    words = [fold(w) for _, _, w in tokenize(term.rstrip("* "))]
    return [w for w in words if w], prefix


def _word_hits(token: str, word: str, last: bool, prefix: bool) -> bool:
    if token == word:
        return True
    if not last or not token.startswith(word):
        return False
    return prefix or token[len(word) :] in _ENDINGS


def highlight_segments(snippet: str, terms: Iterable[str]) -> list[Segment]:
    """The snippet cut into plain and hit segments (the hits of every term, merged)."""
    tokens = [(start, end, fold(word)) for start, end, word in tokenize(snippet)]
    spans: list[tuple[int, int]] = []
    for term in dict.fromkeys(terms):
        words, prefix = _term_words(term)
        if not words:
            continue
        for i in range(len(tokens) - len(words) + 1):
            if all(
                _word_hits(tokens[i + k][2], w, k == len(words) - 1, prefix)
                for k, w in enumerate(words)
            ):
                spans.append((tokens[i][0], tokens[i + len(words) - 1][1]))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    segments: list[Segment] = []
    at = 0
    for start, end in merged:
        if start > at:
            segments.append((snippet[at:start], False))
        segments.append((snippet[start:end], True))
        at = end
    if at < len(snippet):
        segments.append((snippet[at:], False))
    return segments
