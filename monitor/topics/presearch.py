"""Which terms occur in a document's fields, and where: the automata of the engine.

Every term of every topic is compiled once into Aho-Corasick automata (pyahocorasick)
over the folded, space-joined words of a field (see :mod:`monitor.topics.text`):

* one automaton over the folded words, for wildcards (`` gipfel`` for ``Gipfel*``,
  ``rat `` for ``*rat``), exact terms (`` putin ``) and plain words and phrases followed
  by an inflectional ending of the token's language (``путин`` + ``ым``);
* one automaton per Latin stemming language (en, de, none) over the stems, for plain
  words and phrases by stem equality (Cyrillic words are always stemmed as Russian).

Terms of one word and terms of several are compiled apart (:class:`~.keys.Keys` each).
A key of a one-word term never reaches past its word, so which of those terms a field
holds is the union of what each of its words holds: that is worked out once per distinct
word (and way of stemming Latin words) by running the same automata over the word alone,
and kept (:class:`~.word_terms.WordTerms`); a document then costs a few set operations a
field instead of stemming every word and a pass per automaton. A two-word phrase without
a wildcard is found from the places where a word that begins it stands (:mod:`.pairs`);
longer phrases and those with a wildcard still take the pass over the field (over the
stretches where one may stand, in a long field), the pass over its stems only when one of
its words begins a phrase's stems.

:meth:`Automata.terms_in` answers the first question a document asks, which terms occur
in each field (:meth:`Automata.search`: with the words worked out and the cheap test of
:meth:`Automata.may_hold_index` first, in one call). :meth:`Automata.positions` answers
the second, where a term hit (field, first word, last word), for the few terms that
matched topics need: every occurrence of its keys, as the automata would report them.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from monitor.topics import word_terms
from monitor.topics.evaluate import Hit
from monitor.topics.keys import INFLECT, Keys, folded_key, is_pair, stem_key
from monitor.topics.pairs import found_pairs, places_of
from monitor.topics.rules import Term
from monitor.topics.text import FieldText, LatinLang, endings_for, stem
from monitor.topics.word_terms import WordTerms

_SHORT = 1_000
"""A field this long (joined) or shorter gets one pass of the phrases' automata over all
of it: cheaper than finding the stretches where a phrase may stand (titles, summaries),
when the phrases are few (:data:`_FEW_PHRASES`): many phrases hit many times a field."""
_FEW_PHRASES = 1_000
_STRETCHES = 6  # more stretches of a field to stem than this: stem all of it


class FieldTerms(set[int]):
    """The ids of the terms that occur in a field (:meth:`Automata.terms_in`), with where
    each two-word phrase found begins (its positions are read from the same pass).
    ``pairs`` is set only where a phrase may begin (made as a plain set is, without an
    ``__init__`` of Python's: two a document)."""

    __slots__ = ("pairs",)
    pairs: dict[int, list[int]]


class Automata:
    """The terms of a :class:`~monitor.topics.rules.TermTable`, compiled for search."""

    def __init__(self, terms: Sequence[Term], index: Collection[int] | None = None) -> None:
        """``index``: the terms of which a document must hold one to be worth searching
        for all (the engine's candidates); every term when not given."""
        self._terms = terms
        single = [n for n, t in enumerate(terms) if len(t.words) == 1]
        several = [n for n, t in enumerate(terms) if len(t.words) > 1]
        self._index = frozenset(range(len(terms)) if index is None else index)
        self._single = Keys(terms, single, phrases=False)
        self._phrases = Keys(terms, several, phrases=True, index=self._index)
        self._any_plain = any(t.plain for t in terms)
        self._short = _SHORT if len(several) <= _FEW_PHRASES else 0
        self._by_latin: dict[tuple[LatinLang, ...], WordTerms] = {}

    def _word_terms(self, latin: Sequence[LatinLang]) -> WordTerms:
        by_word = self._by_latin.get(tuple(latin))
        if by_word is None:
            by_word = self._by_latin[tuple(latin)] = WordTerms(
                self._single, self._phrases, latin, self._index
            )
        return by_word

    def notable(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        *,
        learned: bool = False,
    ) -> list[set[str]]:
        """Per field, its words that hold a term or may begin or end a phrase (an empty
        set for an absent field): the only words :meth:`may_hold_index` and
        :meth:`terms_in` look at. ``learned``: :meth:`learn` was given these fields."""
        by_word = self._word_terms(latin)
        if not learned:
            self._learn_fields(by_word, [f.distinct for f in fields if f is not None])
        # each distinct word looked up once (the sets of words learned are large: a
        # lookup is a cache miss, building a field's own small set is not)
        known = by_word.notable
        return [known.intersection(f.distinct) if f is not None else set() for f in fields]

    def may_hold_index(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        *,
        learned: bool = False,
        notable: Sequence[set[str]] | None = None,
    ) -> bool:
        """False when no term of the index can occur in ``fields``, judged by their words
        alone (cheaper than :meth:`terms_in`, which then finds none of them): no word
        holds one, and no word may begin one of its phrases or none may end one.
        ``learned``: :meth:`learn` was given these fields; ``notable``: what
        :meth:`notable` says of them."""
        by_word = self._word_terms(latin)
        words: Sequence[Collection[str]] | None = notable
        if words is None:
            # the fields' words themselves, not sets of them: one pass over each field's
            # words for most documents (none of them is a word of the index's)
            words = present = [f.words for f in fields if f is not None]
            if not learned:
                self._learn_fields(by_word, present)
            if all(map(by_word.index_any.isdisjoint, present)):
                return False
        hitting, starts, ends = by_word.index_hitting, by_word.index_starts, by_word.index_ends
        if not all(map(hitting.isdisjoint, words)):
            return True
        return not all(map(starts.isdisjoint, words)) and not all(map(ends.isdisjoint, words))

    def search(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        *,
        learned: bool = False,
    ) -> tuple[list[set[str]], list[set[int]]] | None:
        """What a document's matching asks first, in one call: its fields' words worked
        out (unless ``learned``), then :meth:`notable` of its fields and :meth:`terms_in`
        them; None where :meth:`may_hold_index` says no index term can occur."""
        by_word = self._word_terms(latin)
        distinct = [f.distinct if f is not None else None for f in fields]
        if not learned:
            self._learn_fields(by_word, [d for d in distinct if d is not None])
        known = by_word.notable
        notable = [known.intersection(d) if d is not None else set() for d in distinct]
        hitting = by_word.index_hitting
        if all(map(hitting.isdisjoint, notable)) and (
            all(map(by_word.index_starts.isdisjoint, notable))
            or all(map(by_word.index_ends.isdisjoint, notable))
        ):
            return None
        return notable, self._terms_in(by_word, fields, latin, notable)

    def learn_fields(self, fields: Sequence[FieldText | None], latin: Sequence[LatinLang]) -> None:
        """Work out the words of one document's fields not seen yet (what :meth:`notable`
        and :meth:`may_hold_index` do first when not told they were)."""
        self._learn_fields(self._word_terms(latin), [f.distinct for f in fields if f is not None])

    @staticmethod
    def _learn_fields(by_word: WordTerms, fields: Sequence[Collection[str]]) -> None:
        """Work out the words of a document's fields not seen yet (all its words stay
        remembered when the memory is full and is forgotten)."""
        if all(map(by_word.known.issuperset, fields)):
            return
        distinct = set().union(*fields)
        by_word.learn(distinct.difference(by_word.known), distinct)

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
                    into.update(field.words)
        for latin, distinct in words.items():
            by_word = self._word_terms(latin)
            new = distinct.difference(by_word.known)
            if not new:
                continue
            if (
                len(distinct) > word_terms.CACHE_LIMIT // 4
                or sum(map(len, distinct)) > word_terms.CACHE_CHARS // 4
            ):
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
        notable: Sequence[set[str]] | None = None,
    ) -> list[set[int]]:
        """The ids of the terms that occur in each field (an empty set for an absent one).
        ``learned``: the fields' words were worked out (:meth:`learn`); ``notable``: what
        :meth:`notable` says of them."""
        if notable is None:
            notable = self.notable(fields, latin, learned=learned)
        return self._terms_in(self._word_terms(latin), fields, latin, notable)

    def _terms_in(
        self,
        by_word: WordTerms,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        notable: Sequence[set[str]],
    ) -> list[set[int]]:
        out: list[set[int]] = []
        latin_endings = endings_for("a", latin)
        phrases = self._phrases
        for field, distinct in zip(fields, notable, strict=True):
            if field is None or not distinct:
                out.append(set())
                continue
            # every set of words below is within ``distinct``, the field's notable words
            # one lookup a notable word (None for those that hold no term)
            found = FieldTerms()
            found.update(*filter(None, map(by_word.terms.get, distinct)))
            out.append(found)
            pair_words = by_word.pair_words.intersection(distinct)
            if pair_words:
                follow = by_word.pair_follow_words.intersection(distinct)
                if follow:  # else no word here may end a phrase
                    found.pairs = found_pairs(
                        field.words,
                        pair_words,
                        by_word.pair_starts,
                        latin_endings,
                        follow,
                        by_word.pair_follow,
                    )
                    found.update(found.pairs)
            # longer phrases (or with a wildcard): their keys run over the stretches of
            # the field where one may begin (none unless a word of it may end one too)
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
        notable: Sequence[set[str]] | None = None,
        holding: Sequence[dict[str, frozenset[int]]] | None = None,
    ) -> set[Hit]:
        """Every hit of the term: (field index, first word, last word), as one pass of
        each automaton would find them, in the fields where :meth:`terms_in` found it.
        ``notable``: what :meth:`notable` said of the fields; ``holding``: what
        :meth:`holding` said of them (for the several terms of one document)."""
        term = self._terms[term_id]
        if len(term.words) == 1:
            if holding is not None:
                return _held_positions(term_id, fields, found, holding)
            return self._word_positions(term_id, fields, found, latin, notable)
        if is_pair(term):
            return self._pair_positions(term_id, fields, found, latin, notable)
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
                if kind != INFLECT or field.words[first + span][length:] in endings:
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

    def holding(
        self,
        fields: Sequence[FieldText | None],
        latin: Sequence[LatinLang],
        notable: Sequence[set[str]],
    ) -> list[dict[str, frozenset[int]]]:
        """Per field, its words that hold a one-word term, with the terms each holds
        (``notable``: what :meth:`notable` said of the fields): looked up once for all
        the terms whose :meth:`positions` a document needs, not once for each."""
        terms = self._word_terms(latin).terms
        out: list[dict[str, frozenset[int]]] = []
        for field, words in zip(fields, notable, strict=True):
            held: dict[str, frozenset[int]] = {}
            if field is not None:
                for word in words:
                    got = terms.get(word)
                    if got is not None:
                        held[word] = got
            out.append(held)
        return out

    def _word_positions(
        self,
        term_id: int,
        fields: Sequence[FieldText | None],
        found: Sequence[set[int]],
        latin: Sequence[LatinLang],
        notable: Sequence[set[str]] | None,
    ) -> set[Hit]:
        """:meth:`positions` of a one-word term: the words that hold it are known
        (:attr:`WordTerms.terms`, what its keys and stems found in each word alone), so
        its hits are where those words stand; no key is searched, no field stemmed."""
        by_word = self._word_terms(latin)
        terms, hitting = by_word.terms, by_word.hitting
        hits: set[Hit] = set()
        for index, field in enumerate(fields):
            if field is None or term_id not in found[index]:
                continue
            words = field.words
            candidates = (
                notable[index] if notable is not None else by_word.notable.intersection(words)
            )
            for word in hitting.intersection(candidates):
                if term_id in terms[word]:
                    hits.update((index, at, at) for at in places_of(words, word))
        return hits

    def _pair_positions(
        self,
        term_id: int,
        fields: Sequence[FieldText | None],
        found: Sequence[set[int]],
        latin: Sequence[LatinLang],
        notable: Sequence[set[str]] | None,
    ) -> set[Hit]:
        """:meth:`positions` of a two-word phrase: where a word that may begin it
        stands and the next word ends it (:mod:`.pairs`)."""
        by_word = self._word_terms(latin)
        latin_endings = endings_for("a", latin)
        hits: set[Hit] = set()
        for index, field in enumerate(fields):
            if field is None or term_id not in found[index]:
                continue
            at_of = getattr(found[index], "pairs", None)
            if at_of is None:  # not found by :meth:`terms_in`
                words = field.words
                candidates = (
                    notable[index] if notable is not None else by_word.notable.intersection(words)
                )
                starts = by_word.pair_words.intersection(candidates)
                follow = by_word.pair_follow_words.intersection(candidates)
                at_of = found_pairs(
                    words, starts, by_word.pair_starts, latin_endings, follow, by_word.pair_follow
                )
            for at in at_of.get(term_id, ()):
                hits.add((index, at, at + 1))
        return hits


def _held_positions(
    term_id: int,
    fields: Sequence[FieldText | None],
    found: Sequence[set[int]],
    holding: Sequence[dict[str, frozenset[int]]],
) -> set[Hit]:
    """:meth:`Automata.positions` of a one-word term from :meth:`Automata.holding`."""
    hits: set[Hit] = set()
    for index, field in enumerate(fields):
        if field is None or term_id not in found[index]:
            continue
        words = field.words
        for word, terms in holding[index].items():
            if term_id in terms:
                hits.update((index, at, at) for at in places_of(words, word))
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
