"""What the keys of some phrases begin and end with: which words of a field may begin or
end one of them. The presearch looks for phrases only in fields holding both.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ahocorasick

from monitor.topics.text import LatinLang


class Bounds:
    """What the keys of some phrases begin and end with: which words of a field may
    begin or end one of them (see :meth:`WordTerms.learn`)."""

    def __init__(self, keys: Sequence[str], stem_keys: dict[LatinLang, list[str]]) -> None:
        # a whole first word, or the end of one
        self.first_words = frozenset(k.split(" ", 2)[1] for k in keys if k.startswith(" "))
        self.first_ends = frozenset(k.split(" ", 1)[0] for k in keys if not k.startswith(" "))
        # a whole last word, or the start of one
        self.last_words = frozenset(k.rsplit(" ", 2)[-2] for k in keys if k.endswith(" "))
        self.last_starts = frozenset(k.rsplit(" ", 1)[-1] for k in keys if not k.endswith(" "))
        # an automaton over the ends of first words (each followed by the space that ends
        # its word) and one over the starts of last words (each after the space that
        # begins its word): one pass over a batch of words joined finds the words that end
        # or begin with one, in time linear in their length (a word can be as long as its
        # field)
        self._first_ends = _anchored([e + " " for e in self.first_ends])
        self._last_starts = _anchored([" " + s for s in self.last_starts])
        # the stems their stems begin and end with, per language
        self.first_stems = {
            lang: frozenset(k.split(" ", 2)[1] for k in keys) for lang, keys in stem_keys.items()
        }
        self.last_stems = {
            lang: frozenset(k.rsplit(" ", 2)[-2] for k in keys) for lang, keys in stem_keys.items()
        }

    def starts(self, words: set[str], joined: str) -> set[str]:
        """The words (``words`` as a set and joined as " w1 w2 … ") that may begin a key."""
        out = words.intersection(self.first_words)
        if self._first_ends is not None:
            for end, _ in self._first_ends.iter(joined):
                # the hit ends on the space after its word
                out.add(joined[joined.rfind(" ", 0, end) + 1 : end])
        return out

    def ends(self, words: set[str], joined: str) -> set[str]:
        """The words that may end a key."""
        out = words.intersection(self.last_words)
        if self._last_starts is not None:
            for end, size in self._last_starts.iter(joined):
                # the hit begins on the space before its word
                start = end - size + 2
                out.add(joined[start : joined.find(" ", start)])
        return out


def _anchored(keys: list[str]) -> Any:
    """An automaton whose value for each key is its length; None when there is none."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key in keys:
        automaton.add_word(key, len(key))
    automaton.make_automaton()
    return automaton
