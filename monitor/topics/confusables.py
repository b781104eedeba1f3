"""Letters of one script disguised as another's, folded back: "Тrump" (a Cyrillic Т).

A reader sees "Тrump" and "Trump" as one name; a matcher comparing code points does not,
so a word with Cyrillic or Greek look-alikes mixed into Latin letters (or Latin ones
into a Cyrillic word) evades every topic. :func:`skeleton` decides the script of the
word by the most of its letters and replaces each letter of another script by its
look-alike in that script, as Unicode TR39 confusables list them (the data of the
``confusable_homoglyphs`` package, kept in :mod:`monitor.topics.look_alikes`). A word in one
script is left as it is: "Трамп" stays Cyrillic, "Putin" Latin.

Pure; per word; :mod:`monitor.topics.text` calls it before folding (and caches).
"""

from __future__ import annotations

from monitor.topics.look_alikes import PAIRS

_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _script(char: str) -> str | None:
    code = ord(char)
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    if 0x00C0 <= code <= 0x024F and char.isalpha():
        return "LATIN"
    if 0x0400 <= code <= 0x052F:
        return "CYRILLIC"
    if 0x0370 <= code <= 0x03FF:
        return "GREEK"
    return None


def skeleton(word: str) -> str:
    """``word`` with look-alikes of its main script's letters replaced by those letters."""
    if word.isascii():
        return word
    counts: dict[str, int] = {}
    for char in word:
        script = _script(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    if len(counts) < 2:
        return word
    # Most letters wins; on a tie Latin (the names topics are written with) first.
    main = max(counts, key=lambda s: (counts[s], -_SCRIPTS.index(s)))
    return "".join(c if _script(c) in (None, main) else _look_alike(c, main) for c in word)


def _look_alike(char: str, script: str) -> str:
    """The letter of ``script`` that ``char`` is confusable with, else ``char``."""
    return _LOOK_ALIKES[script].get(char, char)


_LOOK_ALIKES = {
    script: dict(zip(pairs[::2], pairs[1::2], strict=True)) for script, pairs in PAIRS.items()
}
