"""Terms compiled into Aho-Corasick automata (pyahocorasick) over the folded,
space-joined words of a field, and over their stems (see :mod:`monitor.topics.presearch`).

This module knows nothing about topics' rules beyond their terms; it does no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from operator import itemgetter
from typing import Any

import ahocorasick

from monitor.topics.bounds import Bounds
from monitor.topics.pairs import Pairs
from monitor.topics.rules import Term
from monitor.topics.text import ENDINGS, LatinLang, is_cyrillic, stem

STEM_LANGS: tuple[LatinLang, ...] = ("en", "de", None)
INFLECT, PREFIX, SUFFIX, INFIX, EXACT = range(5)
"""How a hit of a folded key counts: a plain word or phrase followed by an inflectional
ending, a wildcard's, an exact term's."""
_KEY_ID = itemgetter(1)  # (end, value) of an automaton hit → the key's number


def folded_key(term: Term) -> tuple[str, int]:
    """The term's key over folded words, and how a hit of it counts."""
    body = " ".join(term.words)
    if term.exact:
        return " " + body + " ", EXACT
    if term.prefix and term.suffix:
        return body, INFIX
    if term.prefix:
        return " " + body, PREFIX
    if term.suffix:
        return body + " ", SUFFIX
    return " " + body, INFLECT


def stem_key(term: Term, lang: LatinLang) -> str:
    """A plain term's key over stems."""
    return " " + " ".join(stem(w, lang) for w in term.words) + " "


class Keys:
    """Some terms (by their ids) compiled into one automaton over folded words and one
    per Latin stemming language over stems (phrases; a one-word term by its stem in a
    dict); :meth:`found_folded` and :meth:`found_stemmed` run them over a field."""

    def __init__(
        self,
        terms: Sequence[Term],
        ids: Sequence[int],
        *,
        phrases: bool,
        index: frozenset[int] = frozenset(),
    ) -> None:
        # two-word phrases are found from the words that begin them (:class:`Pairs`),
        # not searched: only the longer ones and those with a wildcard go to automata
        pairs = [t for t in ids if phrases and is_pair(terms[t])]
        searched = [t for t in ids if not is_pair(terms[t])] if pairs else ids
        self.pairs = Pairs(terms, pairs)
        direct, checked = _folded_keys(terms, searched)
        keys = list(dict.fromkeys([*direct, *checked]))
        self.folded = build(keys)
        self.direct = tuple(tuple(direct.get(k, ())) for k in keys)
        # key number → (key, its terms, whether its last word is Cyrillic)
        self.checked = {
            n: (k, tuple(checked[k]), is_cyrillic(k.rsplit(" ", 1)[-1]))
            for n, k in enumerate(keys)
            if k in checked
        }
        self.check_ids = frozenset(self.checked)
        # one-word terms by stem, per language (a word's stem is looked up, not searched)
        self.by_stem: dict[LatinLang, dict[str, tuple[int, ...]]] = {}
        # phrases over stems, per language: an automaton and each key's terms
        self.stemmed: dict[LatinLang, tuple[Any, tuple[tuple[int, ...], ...]]] = {}
        stem_keys: dict[LatinLang, list[str]] = {}
        for lang in STEM_LANGS:
            by_stem = _stem_keys(terms, searched, lang)
            if not phrases:
                self.by_stem[lang] = {k[1:-1]: tuple(v) for k, v in by_stem.items()}
                continue
            stem_keys[lang] = list(by_stem)
            self.stemmed[lang] = (build(stem_keys[lang]), tuple(map(tuple, by_stem.values())))
        if not phrases:
            return
        self.bounds = Bounds(keys, stem_keys)
        # what the phrases that can make a topic a candidate (``index``) begin and end
        # with, two-word ones included
        self.index_bounds = _index_bounds(terms, [t for t in ids if t in index])
        self.span = max((len(terms[t].words) for t in searched), default=0)

    def found_folded(self, joined: str, latin_endings: frozenset[str], found: set[int]) -> None:
        """Add to ``found`` the terms whose folded key occurs in ``joined``."""
        if self.folded is None:
            return
        keys = set(map(_KEY_ID, self.folded.iter(joined)))
        found.update(*map(self.direct.__getitem__, keys))
        for number in keys & self.check_ids:
            key, term_ids, cyrillic = self.checked[number]
            pending = [t for t in term_ids if t not in found]
            endings = ENDINGS["ru"] if cyrillic else latin_endings
            if pending and inflected(joined, key, endings):
                found.update(pending)

    def found_per_word(
        self, words: Sequence[str], latin_endings: frozenset[str]
    ) -> dict[int, set[int]]:
        """The terms of one word whose folded key occurs in each of ``words`` (by its
        index; words without any left out): one pass over them joined, as
        :meth:`found_folded` would find them in each word alone (" word ")."""
        out: dict[int, set[int]] = {}
        if self.folded is None or not words:
            return out
        joined = " " + " ".join(words) + " "
        # where each word's leading space stands: a hit ending at e is in the last word
        # whose space stands before e (a key ending on a space ends on its word's)
        lead = list(accumulate((len(w) + 1 for w in words[:-1]), initial=0))
        direct, checked = self.direct, self.checked
        for end, number in self.folded.iter(joined):
            n = bisect_right(lead, end - 1) - 1
            got = direct[number]
            if got:
                out.setdefault(n, set()).update(got)
            if number in checked:
                key, term_ids, cyrillic = checked[number]
                endings = ENDINGS["ru"] if cyrillic else latin_endings
                # the key is a space and the word's start: the rest must be an ending
                if words[n][len(key) - 1 :] in endings:
                    out.setdefault(n, set()).update(term_ids)
        return out

    def found_stemmed(self, stems: str, lang: LatinLang, found: set[int]) -> None:
        """Add to ``found`` the plain terms whose stems occur in ``stems`` (joined)."""
        automaton, by_key = self.stemmed[lang]
        if automaton is not None:
            keys = set(map(_KEY_ID, automaton.iter(stems)))
            found.update(*map(by_key.__getitem__, keys))


def is_pair(term: Term) -> bool:
    """Whether a term is a two-word phrase without a wildcard (see :class:`Pairs`)."""
    return len(term.words) == 2 and not (term.prefix or term.suffix)


def _folded_keys(
    terms: Sequence[Term], ids: Sequence[int]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per folded key, the terms hit wherever it occurs, and the plain terms whose
    ending must be checked."""
    direct: dict[str, list[int]] = {}
    checked: dict[str, list[int]] = {}
    for term_id in ids:
        key, kind = folded_key(terms[term_id])
        if kind == INFLECT:
            checked.setdefault(key, []).append(term_id)
            direct.setdefault(key + " ", []).append(term_id)  # the empty ending
        else:
            direct.setdefault(key, []).append(term_id)
    return direct, checked


def _stem_keys(terms: Sequence[Term], ids: Sequence[int], lang: LatinLang) -> dict[str, list[int]]:
    """Per key over stems, its plain terms."""
    by_stem: dict[str, list[int]] = {}
    for term_id in ids:
        if terms[term_id].plain:
            by_stem.setdefault(stem_key(terms[term_id], lang), []).append(term_id)
    return by_stem


def _index_bounds(terms: Sequence[Term], ids: Sequence[int]) -> Bounds:
    direct, checked = _folded_keys(terms, ids)
    return Bounds(
        list(dict.fromkeys([*direct, *checked])),
        {lang: list(_stem_keys(terms, ids, lang)) for lang in STEM_LANGS},
    )


def inflected(joined: str, key: str, endings: frozenset[str]) -> bool:
    """Whether ``key`` (a space and words) occurs in ``joined`` with the rest of its last
    word one of ``endings``."""
    size = len(key)
    at = joined.find(key)
    while at != -1:
        end = joined.find(" ", at + size)  # joined ends with a space
        if joined[at + size : end] in endings:
            return True
        at = joined.find(key, at + 1)
    return False


def build(keys: Sequence[str]) -> Any:
    """An automaton whose value for each key is its number in ``keys``; None when empty."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for number, key in enumerate(keys):
        automaton.add_word(key, number)
    automaton.make_automaton()
    return automaton
