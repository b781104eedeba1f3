"""Two-word phrases without a wildcard, found from the words that begin them.

A phrase ``a b`` hits where a word is ``a`` and the next is ``b`` or ``b`` and an
inflectional ending (plain), or ``b`` (exact), or, plain, where a word's stem is the stem
of ``a`` and the next word's that of ``b``: what one pass of the phrases' automata over
the field (:class:`~monitor.topics.keys.Keys`) would find, told instead by the few
places where a word that begins one stands. Which words begin one, and which may end one
(:meth:`Pairs.following`), is worked out once per distinct word
(:class:`~monitor.topics.word_terms.WordTerms`), so a field costs a lookup of its notable
words and, where a word that may end a phrase stands in it too, a look at the word after
each place of a word that begins one that it may follow; no stretch of it is cut out,
stemmed or searched.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import compress

from monitor.topics.rules import Term
from monitor.topics.text import ENDINGS, LatinLang, is_cyrillic, stem

Second = tuple[bool, tuple[int, ...], tuple[int, ...]]
"""Of a second word: whether it is Cyrillic (its endings are Russian), the plain phrases
it ends (an ending may follow it) and the exact ones (none may)."""
Start = tuple[dict[str, Second], tuple[tuple[LatinLang, dict[str, tuple[int, ...]]], ...]]
"""What a word may begin: the second words that follow it, and per way of stemming, the
stems of the second words (each with its phrases) that follow its stem."""
Follower = tuple[tuple[str, ...], tuple[tuple[LatinLang, str], ...]]
"""Of a word that may end a phrase: what of it may be a second word (itself, or it less an
ending), and per way of stemming, its stem where that is a second word's."""
_RU = ENDINGS["ru"]
_LONGEST_ENDING = max(len(e) for endings in ENDINGS.values() for e in endings)


class Pairs:
    """Two-word phrases (by their term ids) by their first word and by its stem."""

    def __init__(self, terms: Sequence[Term], ids: Sequence[int]) -> None:
        seconds: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
        stems: dict[LatinLang, dict[str, dict[str, list[int]]]] = {}
        for term_id in ids:
            term = terms[term_id]
            first, second = term.words
            plain, exact = seconds.setdefault(first, {}).setdefault(second, ([], []))
            (exact if term.exact else plain).append(term_id)
            if term.exact:
                continue
            for lang in ("en", "de", None):
                by_first = stems.setdefault(lang, {})
                of = by_first.setdefault(stem(first, lang), {})
                of.setdefault(stem(second, lang), []).append(term_id)
        self.first: dict[str, dict[str, Second]] = {
            first: {
                second: (is_cyrillic(second), tuple(plain), tuple(exact))
                for second, (plain, exact) in after.items()
            }
            for first, after in seconds.items()
        }
        """First word → the second words that may follow it."""
        self.first_stems: dict[LatinLang, dict[str, dict[str, tuple[int, ...]]]] = {
            lang: {
                first: {second: tuple(got) for second, got in after.items()}
                for first, after in by_first.items()
            }
            for lang, by_first in stems.items()
        }
        """Per way of stemming, a first word's stem → second stem → its phrases."""
        self.seconds: frozenset[str] = frozenset(
            second for after in seconds.values() for second in after
        )
        """Every phrase's second word."""
        self.second_stems: dict[LatinLang, frozenset[str]] = {
            lang: frozenset(second for after in by_first.values() for second in after)
            for lang, by_first in self.first_stems.items()
        }
        """Per way of stemming, every phrase's second word's stem."""

    def following(
        self, words: Sequence[str], stems_of: Mapping[LatinLang, Sequence[str]]
    ) -> dict[str, Follower]:
        """Those of ``words`` (each's stem per way of stemming given in ``stems_of``, in
        the same order) that may be the second word of some phrase: that word, or it and
        an ending (any ending: :func:`found_pairs` checks which), or a word of one of its
        second stems; each with how. :func:`found_pairs` finds no phrase ending at any
        other word."""
        seconds, second_stems = self.seconds, self.second_stems
        out: dict[str, Follower] = {}
        if not seconds:
            return out
        by_stem: dict[int, list[tuple[LatinLang, str]]] = {}
        for lang, stemmed in stems_of.items():
            of_lang = second_stems.get(lang)
            if of_lang:
                for n in compress(range(len(words)), map(of_lang.__contains__, stemmed)):
                    by_stem.setdefault(n, []).append((lang, stemmed[n]))
        for n, word in enumerate(words):
            forms = [word] if word in seconds else []
            for cut in _cuts(word):
                if word[:-cut] in seconds:
                    forms.append(word[:-cut])
            stems = by_stem.get(n)
            if forms or stems:
                out[word] = tuple(forms), tuple(stems or ())
        return out

    def start(self, word: str, stems: Sequence[tuple[LatinLang, str]]) -> Start | None:
        """What ``word`` (whose stem in each way of stemming is given) may begin; None
        when it begins no phrase."""
        seconds = self.first.get(word, {})
        by_stem = tuple(
            (lang, after)
            for lang, stemmed in stems
            if (after := self.first_stems.get(lang, {}).get(stemmed)) is not None
        )
        if not seconds and not by_stem:
            return None
        return seconds, by_stem


_FEW_STARTS = 16
"""A field with at most this many distinct words that may begin a phrase has each looked
for with ``list.count`` and ``list.index`` (C loops, cheapest for the usual few); with more,
one pass over its words (a feed can send a long field of many such words: a search per word
would cost the field's length times their number)."""


def found_pairs(
    words: Sequence[str],
    starts: set[str],
    start_of: dict[str, Start],
    latin_endings: frozenset[str],
    follow: set[str],
    follower: dict[str, Follower],
) -> dict[int, list[int]]:
    """The phrases that begin at a word of ``starts`` (words of ``words``, each with what
    it may begin in ``start_of``), each with where it begins (the first word's index,
    ascending per start word): what the engine asks for of a term found later
    (:meth:`~monitor.topics.presearch.Automata.positions`), so it never looks again.
    ``follow``: the words of ``words`` that may end a phrase, each with how in
    ``follower`` (:meth:`Pairs.following`). A place followed by another word is passed by
    after one lookup (most: a word that begins phrases by its stem is often a common one);
    when the start words are few, those that none of ``follow`` may follow are not looked
    for at all (their places cost a pass over the field each)."""
    at_of: dict[int, list[int]] = {}
    last = len(words) - 1
    if len(starts) <= _FEW_STARTS:
        # at most this many times the field's words that may follow: linear in its length
        starts = {w for w in starts if _may_begin(start_of[w], follow, follower)}
        places: Iterable[tuple[int, str]] = (
            (at, word) for word in starts for at in places_of(words, word)
        )
    else:
        places = ((at, word) for at, word in enumerate(words) if word in starts)
    for at, word in places:
        if at == last:
            continue
        after = words[at + 1]
        if after not in follow:
            continue
        seconds, by_stem = start_of[word]
        got: list[tuple[int, ...]] | None = None
        if seconds:
            # the next word as a second word, or a second word and an ending: looked up
            # (however many second words follow this one), not compared with each
            equal = seconds.get(after)
            if equal is not None:
                got = [equal[1], equal[2]]
            for cut in _cuts(after):
                stemless = seconds.get(after[:-cut])
                if (
                    stemless is not None
                    and stemless[1]
                    and after[-cut:] in (_RU if stemless[0] else latin_endings)
                ):
                    got = [stemless[1]] if got is None else [*got, stemless[1]]
        for lang, by_second in by_stem:
            ids = by_second.get(stem(after, lang))
            if ids is not None:
                got = [ids] if got is None else [*got, ids]
        if got is not None:
            # a phrase once a place, however many ways it was found there
            for term_id in set().union(*got):
                at_of.setdefault(term_id, []).append(at)
    return at_of


def _may_begin(start: Start, follow: set[str], follower: dict[str, Follower]) -> bool:
    """Whether a word of ``follow`` may follow a word that begins what ``start`` says:
    False when :func:`found_pairs` finds no phrase at any place of that word."""
    seconds, by_stem = start
    for word in follow:
        forms, stems = follower[word]
        if seconds:
            for form in forms:
                if form in seconds:
                    return True
        for lang, by_second in by_stem:
            for of, stemmed in stems:
                if of == lang and stemmed in by_second:
                    return True
    return False


def _cuts(word: str) -> range:
    """How many letters of ``word`` an ending may take (as :func:`found_pairs` cuts)."""
    return range(1, min(_LONGEST_ENDING, len(word) - 1) + 1)


def places_of(words: Sequence[str], word: str) -> Iterator[int]:
    """Where ``word`` stands in ``words``."""
    at = -1
    for _ in range(words.count(word)):
        at = words.index(word, at + 1)
        yield at
