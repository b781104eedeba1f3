"""What the keys of some phrases begin and end with: which words of a field may begin or
end one of them. The presearch looks for phrases only in fields holding both.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

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
        # the longest of each: only a word's ends that short can be one (a word can be as
        # long as its field, and trying every end of it was quadratic in its length)
        self.first_end_len = max(map(len, self.first_ends), default=0)
        self.last_start_len = max(map(len, self.last_starts), default=0)
        # the stems their stems begin and end with, per language
        self.first_stems = {
            lang: frozenset(k.split(" ", 2)[1] for k in keys) for lang, keys in stem_keys.items()
        }
        self.last_stems = {
            lang: frozenset(k.rsplit(" ", 2)[-2] for k in keys) for lang, keys in stem_keys.items()
        }

    def starts(self, words: set[str], listed: Sequence[str]) -> set[str]:
        """The words (``words`` as a set and a sequence) that may begin a key."""
        out = words.intersection(self.first_words)
        ends, longest = self.first_ends, self.first_end_len
        if ends:
            out.update(
                w
                for w in listed
                if any(w[i:] in ends for i in range(max(0, len(w) - longest), len(w)))
            )
        return out

    def ends(self, words: set[str], listed: Sequence[str]) -> set[str]:
        """The words that may end a key."""
        out = words.intersection(self.last_words)
        starts, longest = self.last_starts, self.last_start_len
        if starts:
            out.update(
                w
                for w in listed
                if any(w[:i] in starts for i in range(1, min(len(w), longest) + 1))
            )
        return out
