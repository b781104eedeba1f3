"""Two-word phrases without a wildcard, found from the words that begin them.

A phrase ``a b`` hits where a word is ``a`` and the next is ``b`` or ``b`` and an
inflectional ending (plain), or ``b`` (exact), or, plain, where a word's stem is the stem
of ``a`` and the next word's that of ``b``: what one pass of the phrases' automata over
the field (:class:`~monitor.topics.keys.Keys`) would find, told instead by the few
places where a word that begins one stands. Which words begin one is worked out once
per distinct word (:class:`~monitor.topics.word_terms.WordTerms`), and so which words
may end one by their stem. A field costs a lookup of its notable words; a word that
begins a phrase is looked at further only when the field holds a word that may follow it
(its second word, inflected or not, or a word with its second stem), and then the words
after its places are found by string searches; no stretch of the field is cut out,
stemmed or searched.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

from monitor.topics.rules import Term
from monitor.topics.text import (
    ENDINGS,
    FieldText,
    LatinLang,
    is_cyrillic,
    remember_stem,
    stem,
    word_stems,
)

Second = tuple[str, bool, tuple[int, ...], tuple[int, ...]]
"""A second word, whether it is Cyrillic (its endings are Russian), the plain phrases it
ends (an ending may follow it) and the exact ones (none may)."""
Start = tuple[tuple[Second, ...], tuple[tuple[LatinLang, dict[str, tuple[int, ...]]], ...]]
"""What a word may begin: the second words that follow it, and per way of stemming, the
stems of the second words (each with its phrases) that follow its stem."""
_RU = ENDINGS["ru"]


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
        self.first: dict[str, tuple[Second, ...]] = {
            first: tuple(
                (second, is_cyrillic(second), tuple(plain), tuple(exact))
                for second, (plain, exact) in after.items()
            )
            for first, after in seconds.items()
        }
        """First word → what may follow it."""
        self.first_stems: dict[LatinLang, dict[str, dict[str, tuple[int, ...]]]] = {
            lang: {
                first: {second: tuple(got) for second, got in after.items()}
                for first, after in by_first.items()
            }
            for lang, by_first in stems.items()
        }
        """Per way of stemming, a first word's stem → second stem → its phrases."""
        self.second_stems: dict[LatinLang, frozenset[str]] = {
            lang: frozenset(second for after in by_first.values() for second in after)
            for lang, by_first in self.first_stems.items()
        }
        """Per way of stemming, every second stem."""

    def stem_ends(self, words: Sequence[str], stems: dict[LatinLang, list[str]]) -> set[str]:
        """The ``words`` whose stem (``stems``: theirs, per way of stemming) is the stem of
        a phrase's second word: where no word after a place of a word that begins
        phrases by its stem is among a field's, it holds none of them (:func:`found_pairs`
        looks no further)."""
        out: set[str] = set()
        for lang, stemmed in stems.items():
            second_stems = self.second_stems.get(lang)
            if second_stems:
                out.update(compress(words, map(second_stems.__contains__, stemmed)))
        return out

    def start(self, word: str, stems: Sequence[tuple[LatinLang, str]]) -> Start | None:
        """What ``word`` (whose stem in each way of stemming is given) may begin; None
        when it begins no phrase."""
        seconds = self.first.get(word, ())
        by_stem = tuple(
            (lang, after)
            for lang, stemmed in stems
            if (after := self.first_stems.get(lang, {}).get(stemmed)) is not None
        )
        if not seconds and not by_stem:
            return None
        return seconds, by_stem


def found_pairs(
    field: FieldText,
    starts: set[str],
    stem_ends: set[str],
    start_of: dict[str, Start],
    latin_endings: frozenset[str],
    found: set[int],
) -> None:
    """Add to ``found`` the phrases that begin at a word of ``starts`` (words of
    ``field``, each with what it may begin in ``start_of``); ``stem_ends``: the field's
    words whose stem may end one (:meth:`Pairs.stem_ends`)."""
    distinct = field.distinct
    for word in starts:
        seconds, by_stem = start_of[word]
        # first, without its places, what of all it may begin can stand here: a second
        # word (or it and an ending) among the field's words; a word of the field with
        # a second stem (a word that begins phrases by its stem is often a common one,
        # of many places, and the field seldom holds what may follow it)
        if seconds:
            seconds = tuple(s for s in seconds if _in_field(s, distinct, latin_endings))
        ends: list[tuple[dict[str, str], dict[str, tuple[int, ...]]]] = []
        if stem_ends:
            for lang, by_second in by_stem:
                stems = {w: _stem_of(w, lang) for w in stem_ends}
                mine = {w: s for w, s in stems.items() if s in by_second}
                if mine:
                    ends.append((mine, by_second))
        if not seconds and not ends:
            continue
        # the words after its places, each once, by string searches
        joined = field.joined
        key = " " + word + " "
        size = len(key)
        afters: set[str] = set()
        at = joined.find(key)
        while at != -1:
            end = joined.find(" ", at + size)
            if end == -1:  # the last word
                break
            afters.add(joined[at + size : end])
            at = joined.find(key, at + size - 1)  # its space may begin the next place
        for second, cyrillic, plain, exact in seconds:
            if second in afters:
                found.update(plain, exact)
            if plain:
                endings = _RU if cyrillic else latin_endings
                size = len(second)
                for after in afters:
                    if after.startswith(second) and after[size:] in endings:
                        found.update(plain)
                        break
        for mine, by_second in ends:
            for after in afters.intersection(mine):
                found.update(by_second[mine[after]])


def _in_field(second: Second, distinct: frozenset[str], latin_endings: frozenset[str]) -> bool:
    """Whether a word of the field (``distinct``) is the second word, or (a plain
    phrase's) it and an inflectional ending."""
    word, cyrillic, plain, _ = second
    if word in distinct:
        return True
    if plain:
        for ending in _RU if cyrillic else latin_endings:
            if word + ending in distinct:
                return True
    return False


def _stem_of(word: str, lang: LatinLang) -> str:
    stemmed = word_stems(lang).get(word)
    return stemmed if stemmed is not None else remember_stem(word, lang)


def pair_positions(
    words: Sequence[str],
    starts: set[str],
    start_of: dict[str, Start],
    latin_endings: frozenset[str],
    term_id: int,
) -> list[int]:
    """Where (the first word's index) the phrase ``term_id`` begins: the places of
    :func:`found_pairs` that find it."""
    out: list[int] = []
    last = len(words) - 1
    for word in starts:
        seconds, by_stem = start_of[word]
        # only the second words (or stems) that end this phrase
        mine = [s for s in seconds if term_id in s[2] or term_id in s[3]]
        stemmed = [
            (lang, second)
            for lang, by_second in by_stem
            for second, got in by_second.items()
            if term_id in got
        ]
        if not mine and not stemmed:
            continue
        at = -1
        for _ in range(words.count(word)):
            at = words.index(word, at + 1)
            if at == last:
                break
            after = words[at + 1]
            if any(
                (after == second and (term_id in plain or term_id in exact))
                or (
                    term_id in plain
                    and after.startswith(second)
                    and after[len(second) :] in (_RU if cyrillic else latin_endings)
                )
                for second, cyrillic, plain, exact in mine
            ) or any(stem(after, lang) == second for lang, second in stemmed):
                out.append(at)
    return out
