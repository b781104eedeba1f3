"""Which terms occur in a document's fields, and where: the automata of the engine.

Every term of every topic is compiled once into Aho-Corasick automata (pyahocorasick)
over the folded, space-joined words of a field (see :mod:`monitor.topics.text`):

* one automaton over the folded words, for wildcards (`` gipfel`` for ``Gipfel*``,
  ``rat `` for ``*rat``), exact terms (`` putin ``) and plain words and phrases followed
  by an inflectional ending of the token's language (``путин`` + ``ым``);
* one automaton per Latin stemming language (en, de, none) over the stems, for plain
  words and phrases by stem equality (Cyrillic words are always stemmed as Russian).

:meth:`Automata.terms_in` answers the first question a document asks, which terms occur
in each field, with one C-level pass per automaton and field that collects the keys hit
(no Python work per hit): a plain term's key `` body`` comes with its whole-word twin
`` body `` (the empty ending), so only a longer word that begins with the term has its
ending checked. :meth:`Automata.positions` answers the second, where a term hit
(field, first word, last word), for the few terms that matched topics need: every
occurrence of its keys, as the automata would report them.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import ahocorasick

from monitor.topics.evaluate import Hit
from monitor.topics.rules import Term
from monitor.topics.text import ENDINGS, FieldText, LatinLang, endings_for, is_cyrillic, stem

STEM_LANGS: tuple[LatinLang, ...] = ("en", "de", None)
_INFLECT, _PREFIX, _SUFFIX, _INFIX, _EXACT = range(5)
_KEY_ID = itemgetter(1)  # (end, value) of an automaton hit → the key's number


def folded_key(term: Term) -> tuple[str, int]:
    """The term's key over folded words, and how a hit of it counts."""
    body = " ".join(term.words)
    if term.exact:
        return " " + body + " ", _EXACT
    if term.prefix and term.suffix:
        return body, _INFIX
    if term.prefix:
        return " " + body, _PREFIX
    if term.suffix:
        return body + " ", _SUFFIX
    return " " + body, _INFLECT


def stem_key(term: Term, lang: LatinLang) -> str:
    """A plain term's key over stems."""
    return " " + " ".join(stem(w, lang) for w in term.words) + " "


class Automata:
    """The terms of a :class:`~monitor.topics.rules.TermTable`, compiled for search."""

    def __init__(self, terms: Sequence[Term]) -> None:
        self._terms = terms
        direct: dict[str, list[int]] = {}  # key → terms hit wherever it occurs
        checked: dict[str, list[int]] = {}  # key → plain terms whose ending must be checked
        for term_id, term in enumerate(terms):
            key, kind = folded_key(term)
            if kind == _INFLECT:
                checked.setdefault(key, []).append(term_id)
                direct.setdefault(key + " ", []).append(term_id)  # the empty ending
            else:
                direct.setdefault(key, []).append(term_id)
        keys = list(dict.fromkeys([*direct, *checked]))
        self._folded = _build(keys)
        self._direct = tuple(tuple(direct.get(k, ())) for k in keys)
        # key number → (key, its terms, whether its last word is Cyrillic)
        self._checked = {
            n: (k, tuple(checked[k]), is_cyrillic(k.rsplit(" ", 1)[-1]))
            for n, k in enumerate(keys)
            if k in checked
        }
        self._check_ids = frozenset(self._checked)
        self._stemmed: dict[LatinLang, tuple[Any, tuple[tuple[int, ...], ...]]] = {}
        for lang in STEM_LANGS:
            by_stem: dict[str, list[int]] = {}
            for term_id, term in enumerate(terms):
                if term.plain:
                    by_stem.setdefault(stem_key(term, lang), []).append(term_id)
            stem_keys = list(by_stem)
            self._stemmed[lang] = (_build(stem_keys), tuple(tuple(by_stem[k]) for k in stem_keys))

    def terms_in(
        self, fields: Sequence[FieldText | None], latin: Sequence[LatinLang]
    ) -> list[set[int]]:
        """The ids of the terms that occur in each field (an empty set for an absent one)."""
        out: list[set[int]] = []
        latin_endings = endings_for("a", latin)
        for field in fields:
            found: set[int] = set()
            out.append(found)
            if field is None or not field.joined:
                continue
            joined = field.joined
            if self._folded is not None:
                keys = set(map(_KEY_ID, self._folded.iter(joined)))
                found.update(*map(self._direct.__getitem__, keys))
                for number in keys & self._check_ids:
                    key, term_ids, cyrillic = self._checked[number]
                    pending = [t for t in term_ids if t not in found]
                    endings = ENDINGS["ru"] if cyrillic else latin_endings
                    if pending and _inflected(joined, key, endings):
                        found.update(pending)
            for lang in latin:
                automaton, by_key = self._stemmed[lang]
                if automaton is not None:
                    keys = set(map(_KEY_ID, automaton.iter(field.stemmed(lang))))
                    found.update(*map(by_key.__getitem__, keys))
        return out

    def positions(
        self,
        term_id: int,
        fields: Sequence[FieldText | None],
        found: Sequence[set[int]],
        latin: Sequence[LatinLang],
    ) -> set[Hit]:
        """Every hit of the term: (field index, first word, last word), as one pass of
        each automaton would find them, in the fields where :meth:`terms_in` found it."""
        term = self._terms[term_id]
        key, kind = folded_key(term)
        lead = key.startswith(" ")
        span = len(term.words) - 1
        length = len(term.words[-1])
        endings = endings_for(term.words[-1], latin)
        hits: set[Hit] = set()
        for index, field in enumerate(fields):
            if field is None or term_id not in found[index]:
                continue
            joined = field.joined
            at = joined.find(key)
            while at != -1:
                # spaces before the key: its word's index (+1 when the key begins
                # inside the word rather than on the space before it)
                first = joined.count(" ", 0, at) - (not lead)
                if kind != _INFLECT or field.words[first + span][length:] in endings:
                    hits.add((index, first, first + span))
                at = joined.find(key, at + 1)
            if not term.plain:
                continue
            for lang in latin:
                if self._stemmed[lang][0] is None:
                    continue
                stems = field.stemmed(lang)
                key_of_stems = stem_key(term, lang)
                at = stems.find(key_of_stems)
                while at != -1:
                    first = stems.count(" ", 0, at)
                    hits.add((index, first, first + span))
                    at = stems.find(key_of_stems, at + 1)
        return hits


def _inflected(joined: str, key: str, endings: frozenset[str]) -> bool:
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


def _build(keys: Sequence[str]) -> Any:
    """An automaton whose value for each key is its number in ``keys``; None when empty."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for number, key in enumerate(keys):
        automaton.add_word(key, number)
    automaton.make_automaton()
    return automaton
