"""Which terms occur in a document's fields, and where: the automata of the engine.

Every term of every topic is compiled once into Aho-Corasick automata (pyahocorasick)
over the folded, space-joined words of a field (see :mod:`monitor.topics.text`):

* one automaton over the folded words, for wildcards (`` gipfel`` for ``Gipfel*``,
  ``rat `` for ``*rat``), exact terms (`` putin ``) and plain words and phrases followed
  by an inflectional ending of the token's language (``путин`` + ``ым``);
* one automaton per Latin stemming language (en, de, none) over the stems, for plain
  words and phrases by stem equality (Cyrillic words are always stemmed as Russian).

Terms of one word and terms of several are compiled apart (:class:`_Keys` each). A key
of a one-word term never reaches past its word, so which of those terms a field holds is
the union of what each of its words holds: that is worked out once per distinct word
(and way of stemming Latin words) by running the same automata over the word alone, and
kept (:class:`_WordTerms`); a document then costs a few set operations a field instead of
stemming every word and a pass per automaton. Phrases still take the pass over the field
(over the stretches where one may stand, in a long field), the pass over its stems only
when one of its words begins a phrase's stems.

:meth:`Automata.terms_in` answers the first question a document asks, which terms occur
in each field. :meth:`Automata.positions` answers the second, where a term hit
(field, first word, last word), for the few terms that matched topics need: every
occurrence of its keys, as the automata would report them.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from itertools import accumulate
from operator import itemgetter
from typing import Any

import ahocorasick

from monitor.topics.evaluate import Hit
from monitor.topics.rules import Term
from monitor.topics.text import (
    ENDINGS,
    FieldText,
    LatinLang,
    endings_for,
    is_cyrillic,
    stem,
    stems,
)

STEM_LANGS: tuple[LatinLang, ...] = ("en", "de", None)
_INFLECT, _PREFIX, _SUFFIX, _INFIX, _EXACT = range(5)
_KEY_ID = itemgetter(1)  # (end, value) of an automaton hit → the key's number
_CACHE_LIMIT = 300_000  # distinct words remembered (per way of stemming)
_CACHE_CHARS = 4_000_000
"""Characters of those words at most: a word can be as long as a field (a hex or
base64 run, a URL's letters), and a count alone would let long ones take gigabytes."""
_NONE: frozenset[int] = frozenset()
_SHORT = 1_000
"""A field this long (joined) or shorter gets one pass of the phrases' automata over all
of it: cheaper than finding the stretches where a phrase may stand (titles, summaries),
when the phrases are few (:data:`_FEW_PHRASES`): many phrases hit many times a field."""
_FEW_PHRASES = 1_000
_STRETCHES = 6  # more stretches of a field to stem than this: stem all of it


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


class _Bounds:
    """What the keys of some phrases begin and end with: which words of a field may
    begin or end one of them (see :meth:`_WordTerms.learn`)."""

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


class _Keys:
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
        direct: dict[str, list[int]] = {}  # key → terms hit wherever it occurs
        checked: dict[str, list[int]] = {}  # key → plain terms whose ending must be checked
        for term_id in ids:
            key, kind = folded_key(terms[term_id])
            if kind == _INFLECT:
                checked.setdefault(key, []).append(term_id)
                direct.setdefault(key + " ", []).append(term_id)  # the empty ending
            else:
                direct.setdefault(key, []).append(term_id)
        keys = list(dict.fromkeys([*direct, *checked]))
        self.folded = _build(keys)
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
            by_stem: dict[str, list[int]] = {}
            for term_id in ids:
                if terms[term_id].plain:
                    by_stem.setdefault(stem_key(terms[term_id], lang), []).append(term_id)
            if not phrases:
                self.by_stem[lang] = {k[1:-1]: tuple(v) for k, v in by_stem.items()}
                continue
            stem_keys[lang] = list(by_stem)
            self.stemmed[lang] = (_build(stem_keys[lang]), tuple(map(tuple, by_stem.values())))
        if not phrases:
            return
        self.bounds = _Bounds(keys, stem_keys)
        # the same for the phrases that can make a topic a candidate (``index``)
        terms_of = {k: {*direct.get(k, ()), *checked.get(k, ())} for k in keys}
        self.index_bounds = _Bounds(
            [k for k in keys if not index.isdisjoint(terms_of[k])],
            {
                lang: [k for k, n in zip(got, self.stemmed[lang][1], strict=True) if index & set(n)]
                for lang, got in stem_keys.items()
            },
        )
        self.span = max((len(terms[t].words) for t in ids), default=0)

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
            if pending and _inflected(joined, key, endings):
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


class _WordTerms:
    """The one-word terms each distinct word holds, for one way of stemming Latin words
    (the document's ``latin`` languages): worked out on first sight, then looked up; and
    the words that begin the stems of some phrase, per language."""

    def __init__(
        self,
        single: _Keys,
        phrases: _Keys,
        latin: Sequence[LatinLang],
        index: frozenset[int],
    ) -> None:
        self._single = single
        self._index = index
        self._latin = tuple(latin)
        self._endings = endings_for("a", latin)
        self._phrases = phrases
        self.terms: dict[str, frozenset[int]] = {}
        self.chars = 0
        """Characters of the words in :attr:`terms`."""
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

    def learn(self, words: set[str], distinct: set[str]) -> None:
        """Work out ``words``, the ones of ``distinct`` (a field's words) not seen yet."""
        size = sum(map(len, words))
        if len(self.terms) + len(words) > _CACHE_LIMIT or self.chars + size > _CACHE_CHARS:
            # forget all: a field's words stay
            for known in (
                self.terms,
                self.hitting,
                self.starts,
                self.ends,
                self.index_hitting,
                self.index_starts,
                self.index_ends,
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
        known = self.terms
        known.update(dict.fromkeys(listed, _NONE))
        for n, terms in found.items():
            known[listed[n]] = frozenset(terms)
            self.hitting.add(listed[n])
            if not self._index.isdisjoint(terms):
                self.index_hitting.add(listed[n])
        bounds, index = phrases.bounds, phrases.index_bounds
        self.starts.update(bounds.starts(words, listed))
        self.ends.update(bounds.ends(words, listed))
        self.index_starts.update(index.starts(words, listed))
        self.index_ends.update(index.ends(words, listed))
        for lang, stemmed in stems_of.items():
            pairs = list(zip(listed, stemmed, strict=True))
            for bound, into in (
                (bounds.first_stems[lang], self.stem_starts[lang]),
                (bounds.last_stems[lang], self.stem_ends[lang]),
                (index.first_stems[lang], self.index_starts),
                (index.last_stems[lang], self.index_ends),
            ):
                if bound:
                    into.update(w for w, s in pairs if s in bound)


class Automata:
    """The terms of a :class:`~monitor.topics.rules.TermTable`, compiled for search."""

    def __init__(self, terms: Sequence[Term], index: Collection[int] | None = None) -> None:
        """``index``: the terms of which a document must hold one to be worth searching
        for all (the engine's candidates); every term when not given."""
        self._terms = terms
        single = [n for n, t in enumerate(terms) if len(t.words) == 1]
        several = [n for n, t in enumerate(terms) if len(t.words) > 1]
        self._index = frozenset(range(len(terms)) if index is None else index)
        self._single = _Keys(terms, single, phrases=False)
        self._phrases = _Keys(terms, several, phrases=True, index=self._index)
        self._any_plain = any(t.plain for t in terms)
        self._short = _SHORT if len(several) <= _FEW_PHRASES else 0
        self._by_latin: dict[tuple[LatinLang, ...], _WordTerms] = {}

    def _word_terms(self, latin: Sequence[LatinLang]) -> _WordTerms:
        by_word = self._by_latin.get(tuple(latin))
        if by_word is None:
            by_word = self._by_latin[tuple(latin)] = _WordTerms(
                self._single, self._phrases, latin, self._index
            )
        return by_word

    def may_hold_index(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        *,
        learned: bool = False,
    ) -> bool:
        """False when no term of the index can occur in ``fields``, judged by their words
        alone (cheaper than :meth:`terms_in`, which then finds none of them): no word
        holds one, and no word may begin one of its phrases or none may end one.
        ``learned``: :meth:`learn` was given these fields."""
        by_word = self._word_terms(latin)
        present = [f.distinct for f in fields if f is not None]
        if not learned:
            self._learn_fields(by_word, present)
        hitting, starts, ends = by_word.index_hitting, by_word.index_starts, by_word.index_ends
        if not all(map(hitting.isdisjoint, present)):
            return True
        return not all(map(starts.isdisjoint, present)) and not all(map(ends.isdisjoint, present))

    @staticmethod
    def _learn_fields(by_word: _WordTerms, fields: Sequence[frozenset[str]]) -> None:
        """Work out the words of a document's fields not seen yet (all its words stay
        remembered when the memory is full and is forgotten)."""
        new = [words.difference(by_word.terms) for words in fields]
        if any(new):
            by_word.learn(set().union(*new), set().union(*fields))

    def learn(
        self, documents: Iterable[tuple[Sequence[FieldText | None], Sequence[LatinLang]]]
    ) -> bool:
        """Work out together the words of ``documents`` (their fields, how their Latin
        words stem) not seen yet, as :meth:`terms_in` would one field at a time: cheaper
        for many documents. Not when they hold more words than are remembered: False
        then."""
        learned = True
        words: dict[tuple[LatinLang, ...], set[str]] = {}
        for fields, latin in documents:
            into = words.setdefault(tuple(latin), set())
            for field in fields:
                if field is not None:
                    into.update(field.distinct)
        for latin, distinct in words.items():
            by_word = self._word_terms(latin)
            new = distinct.difference(by_word.terms)
            if not new:
                continue
            if len(distinct) > _CACHE_LIMIT // 4 or sum(map(len, distinct)) > _CACHE_CHARS // 4:
                learned = False
                continue
            by_word.learn(new, distinct)
            # learning can forget what was known before (the memory is bounded), not the
            # words it was given
        return learned

    def terms_in(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        *,
        learned: bool = False,
    ) -> list[set[int]]:
        """The ids of the terms that occur in each field (an empty set for an absent one).
        ``learned``: the fields' words were worked out (:meth:`may_hold_index`)."""
        out: list[set[int]] = []
        by_word = self._word_terms(latin)
        if not learned:
            self._learn_fields(by_word, [f.distinct for f in fields if f is not None])
        latin_endings = endings_for("a", latin)
        phrases = self._phrases
        for field in fields:
            if field is None or not field.joined:
                out.append(set())
                continue
            distinct = field.distinct
            found = set().union(*map(by_word.terms.__getitem__, by_word.hitting & distinct))
            out.append(found)
            # phrases: their keys run over the stretches of the field where one may begin
            # (none unless a word of the field may end one too)
            starts = by_word.starts.intersection(distinct)
            if starts:
                ends = by_word.ends.intersection(distinct)
                if ends:
                    joined = field.joined
                    if len(joined) > self._short:
                        joined = _stretches(joined, starts, ends, phrases.span)
                    phrases.found_folded(joined, latin_endings, found)
            for lang in latin:
                starts = by_word.stem_starts[lang].intersection(distinct)
                if starts:
                    ends = by_word.stem_ends[lang].intersection(distinct)
                    if ends:
                        stretches = field.joined
                        if len(stretches) > self._short:
                            stretches = _stretches(stretches, starts, ends, phrases.span)
                        if stretches is field.joined:
                            stems = field.stemmed(lang)
                        else:
                            stems = _stems_of(stretches, lang)
                        phrases.found_stemmed(stems, lang, found)
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
                if not self._any_plain:
                    continue
                stems = field.stemmed(lang)
                key_of_stems = stem_key(term, lang)
                at = stems.find(key_of_stems)
                while at != -1:
                    first = stems.count(" ", 0, at)
                    hits.add((index, first, first + span))
                    at = stems.find(key_of_stems, at + 1)
        return hits


def _stretches(joined: str, starts: set[str], ends: set[str], span: int) -> str:
    """The stretches of ``joined`` (" w1 … wn ", up to ``span`` words) that begin at a
    word of ``starts`` or (when fewer) end at a word of ``ends``, joined together; all of
    ``joined`` when there are many. They hold every occurrence of a key of at most
    ``span`` words that begins in a word of ``starts`` and ends in one of ``ends``, and
    nothing that is not in ``joined``: no key holds two spaces in a row, which is where
    two stretches meet."""
    first = [" " + word + " " for word in starts]
    last = [" " + word + " " for word in ends]
    if sum(map(joined.count, last)) < sum(map(joined.count, first)):
        return _around(joined, last, span, forward=False)
    return _around(joined, first, span, forward=True)


def _around(joined: str, keys: list[str], span: int, *, forward: bool) -> str:
    out: list[str] = []
    for key in keys:
        at = joined.find(key)
        while at != -1:
            if len(out) == _STRETCHES:
                return joined
            if forward:
                start, end = at, at
                for _ in range(span):
                    end = joined.find(" ", end + 1)
                    if end in (-1, len(joined) - 1):
                        end = len(joined) - 1
                        break
            else:
                start, end = at, at + len(key) - 1
                for _ in range(span - 1):
                    start = joined.rfind(" ", 0, start)
                    if start == -1:
                        start = 0
                        break
            out.append(joined[start : end + 1])
            at = joined.find(key, at + 1)
    return "".join(out)


def _stems_of(stretches: str, lang: LatinLang) -> str:
    """Stretches of folded words as the same stretches of stems."""
    return "".join(
        " " + " ".join([stem(word, lang) for word in part.split()]) + " "
        for part in stretches.split("  ")
    )


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
