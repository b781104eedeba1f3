"""The presearch's memory of words: the one-word terms each distinct word holds, and
whether it may begin or end a phrase, worked out on first sight and then looked up.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

from monitor.topics.keys import Keys
from monitor.topics.pairs import Follower, Start
from monitor.topics.text import LatinLang, endings_for, stems

CACHE_LIMIT = 300_000  # distinct words remembered (per way of stemming)
CACHE_CHARS = 4_000_000
"""Characters of those words at most: a word can be as long as a field (a hex or
base64 run, a URL's letters), and a count alone would let long ones take gigabytes."""


class WordTerms:
    """The one-word terms each distinct word holds, for one way of stemming Latin words
    (the document's ``latin`` languages): worked out on first sight, then looked up; and
    the words that begin the stems of some phrase, per language."""

    def __init__(
        self,
        single: Keys,
        phrases: Keys,
        latin: Sequence[LatinLang],
        index: frozenset[int],
    ) -> None:
        self._single = single
        self._index = index
        self._latin = tuple(latin)
        self._endings = endings_for("a", latin)
        self._phrases = phrases
        self.known: set[str] = set()
        """The words worked out."""
        self.terms: dict[str, frozenset[int]] = {}
        """The terms each of them that holds any holds."""
        self.chars = 0
        """Characters of the words in :attr:`known`."""
        self.hitting: set[str] = set()
        """The words that hold a term."""
        self.starts: set[str] = set()
        """Words that may begin a phrase's folded key."""
        self.ends: set[str] = set()
        """Words that may end a phrase's folded key."""
        self.stem_starts: dict[LatinLang, set[str]] = {lang: set() for lang in self._latin}
        """Words whose stem may begin a phrase's stems, per language."""
        self.stem_ends: dict[LatinLang, set[str]] = {lang: set() for lang in self._latin}
        """Words whose stem may end a phrase's stems, per language."""
        self.index_hitting: set[str] = set()
        """The words that hold an index term (see :meth:`Automata.may_hold_index`)."""
        self.index_starts: set[str] = set()
        """Words that may begin an index phrase (its folded key or its stems)."""
        self.index_ends: set[str] = set()
        """Words that may end an index phrase."""
        self.index_any: set[str] = set()
        """The words of the three sets above: a document with none of them holds no
        index term (told by one pass over its words)."""
        self.pair_starts: dict[str, Start] = {}
        """Words that may begin a two-word phrase: what each may begin."""
        self.pair_words: set[str] = set()
        """The words of :attr:`pair_starts`."""
        self.pair_follow: dict[str, Follower] = {}
        """Words that may end a two-word phrase, each with how
        (:meth:`~.pairs.Pairs.following`): where another word follows one that begins
        phrases, none ends there."""
        self.pair_follow_words: set[str] = set()
        """The words of :attr:`pair_follow`."""
        self.notable: set[str] = set()
        """The words of all the sets above: a word of a field not among them holds no
        term and can neither begin nor end a phrase (the presearch looks no further)."""

    def learn(self, words: set[str], distinct: set[str]) -> None:
        """Work out ``words``, the ones of ``distinct`` (a field's words) not seen yet."""
        size = sum(map(len, words))
        if len(self.known) + len(words) > CACHE_LIMIT or self.chars + size > CACHE_CHARS:
            # forget all: a field's words stay
            for known in (
                self.known,
                self.terms,
                self.hitting,
                self.starts,
                self.ends,
                self.index_hitting,
                self.index_starts,
                self.index_ends,
                self.index_any,
                self.pair_starts,
                self.pair_words,
                self.pair_follow,
                self.pair_follow_words,
                self.notable,
            ):
                known.clear()
            for lang in self._latin:
                self.stem_starts[lang].clear()
                self.stem_ends[lang].clear()
            words, size, self.chars = distinct, sum(map(len, distinct)), 0
        self.chars += size
        single, phrases = self._single, self._phrases
        # all the new words at once: one pass of the automaton over them joined, and one
        # batch of stems per language (a key of a one-word term never spans two words)
        listed = list(words)
        found = single.found_per_word(listed, self._endings)
        stems_of = {lang: stems(listed, lang) for lang in self._latin}
        for lang, stemmed in stems_of.items():
            by_stem = single.by_stem[lang]
            if by_stem:
                for n, got in enumerate(map(by_stem.get, stemmed)):
                    if got:
                        found.setdefault(n, set()).update(got)
        self.known.update(listed)
        known = self.terms
        notable = self.notable
        index_any = self.index_any
        notable.update(listed[n] for n in found)
        for n, terms in found.items():
            known[listed[n]] = frozenset(terms)
            self.hitting.add(listed[n])
            if not self._index.isdisjoint(terms):
                self.index_hitting.add(listed[n])
                index_any.add(listed[n])
        bounds, index = phrases.bounds, phrases.index_bounds
        joined = " " + " ".join(listed) + " "
        for into, bounding, of_index in (
            (self.starts, bounds.starts(words, joined), False),
            (self.ends, bounds.ends(words, joined), False),
            (self.index_starts, index.starts(words, joined), True),
            (self.index_ends, index.ends(words, joined), True),
        ):
            into.update(bounding)
            notable.update(bounding)
            if of_index:
                index_any.update(bounding)
        self._learn_pairs(listed, stems_of)
        for lang, stemmed in stems_of.items():
            for bound, into, of_index in (
                (bounds.first_stems[lang], self.stem_starts[lang], False),
                (bounds.last_stems[lang], self.stem_ends[lang], False),
                (index.first_stems[lang], self.index_starts, True),
                (index.last_stems[lang], self.index_ends, True),
            ):
                if bound:
                    bounding = set(compress(listed, map(bound.__contains__, stemmed)))
                    into.update(bounding)
                    notable.update(bounding)
                    if of_index:
                        index_any.update(bounding)

    def _learn_pairs(self, listed: list[str], stems_of: dict[LatinLang, list[str]]) -> None:
        """Which of the new words may begin a two-word phrase, and what."""
        pairs = self._phrases.pairs
        numbers = compress(range(len(listed)), map(pairs.first.__contains__, listed))
        maybe = set(numbers)
        for lang, stemmed in stems_of.items():
            by_stem = pairs.first_stems.get(lang)
            if by_stem:
                maybe.update(compress(range(len(listed)), map(by_stem.__contains__, stemmed)))
        follow = pairs.following(listed, stems_of)
        self.pair_follow.update(follow)
        self.pair_follow_words.update(follow)
        self.notable.update(follow)
        for n in maybe:
            start = pairs.start(listed[n], [(lang, got[n]) for lang, got in stems_of.items()])
            if start is not None:
                self.pair_starts[listed[n]] = start
                self.pair_words.add(listed[n])
                self.notable.add(listed[n])
