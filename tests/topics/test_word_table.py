"""Terms told from the words that hold or begin them hit exactly where their definition
says: a one-word term's hits are the words that hold it, a two-word phrase is found from
the places its first word stands; checked against a plain reading of what a term means
(words equal, an inflectional ending, equal stems, a wildcard's prefix or suffix) on
random documents of inflected, stemmed and look-alike words."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from monitor.topics import compile_topics, pairs, word_terms
from monitor.topics.evaluate import Hit
from monitor.topics.pairs import Start
from monitor.topics.presearch import Automata
from monitor.topics.rules import Term, TermTable
from monitor.topics.spec import TopicConfig
from monitor.topics.text import FieldText, LatinLang, endings_for, stem
from monitor.types import Document

_BASES = ["gipfel", "treffen", "board", "peace", "house", "white", "совет", "мир", "трамп"]
_ENDINGS = ["", "s", "es", "en", "er", "e", "а", "ом", "ы", "ing", "ed"]
_TERM_TEXTS = [
    "Gipfel",
    "Gipfel*",
    "*fel",
    '"board"',
    "Board of",
    "Board Peace",
    '"white house"',
    "White House",
    "white Houses",
    "Совет мира",
    "совет мир",
    "Трамп Совет",
    "peace*",
    "house board",
    "Gipfel Treffen",
    "Gipfels Treffen*",
    "*ite house",
    "board of peace",
    "мир",
    "Houses",
]


def _expected(term: Term, fields: list[FieldText | None], latin: tuple[LatinLang, ...]) -> set[Hit]:
    """Where ``term`` hits, read from its definition word by word."""
    size = len(term.words)
    out: set[Hit] = set()
    for index, field in enumerate(fields):
        if field is None:
            continue
        words = field.words
        for at in range(len(words) - size + 1):
            got = words[at : at + size]
            head, last = list(term.words[:-1]), term.words[-1]
            if term.exact:
                hit = tuple(got) == term.words
            elif term.prefix and term.suffix:
                hit = (size == 1 and last in got[0]) or (
                    size > 1
                    and got[0].endswith(head[0])
                    and got[1:-1] == head[1:]
                    and got[-1].startswith(last)
                )
            elif term.prefix:
                hit = got[:-1] == head and got[-1].startswith(last)
            elif term.suffix:
                first = term.words[0]
                hit = got[0].endswith(first) and tuple(got[1:]) == term.words[1:]
            else:
                ending = got[-1][len(last) :]
                hit = (
                    got[:-1] == head
                    and got[-1].startswith(last)
                    and ending in endings_for(last, latin)
                ) or any(
                    [stem(w, lang) for w in got] == [stem(w, lang) for w in term.words]
                    for lang in latin
                )
            if hit:
                out.add((index, at, at + size - 1))
    return out


@pytest.mark.parametrize("few_starts", [16, 0])
@pytest.mark.parametrize("seed", range(6))
def test_terms_found_from_the_words_hit_where_their_definition_says(
    monkeypatch: pytest.MonkeyPatch, seed: int, few_starts: int
) -> None:
    rng = random.Random(seed)
    # a field's phrase-beginning words looked for one by one, or found in one pass
    monkeypatch.setattr(pairs, "_FEW_STARTS", few_starts)
    # a small memory of words as well: what is forgotten is learned again
    monkeypatch.setattr(word_terms, "CACHE_LIMIT", (30, 100_000)[seed % 2])
    table = TermTable()
    ids = [table.add(text) for text in _TERM_TEXTS]
    automata = Automata(table.terms)
    words = [b + e for b in _BASES for e in _ENDINGS] + ["of", "the", "Gipfeltreffen", "x"]
    for _ in range(150):
        fields: list[FieldText | None] = [
            FieldText.of(" ".join(rng.choices(words, k=rng.randint(0, 14))))
            if rng.random() < 0.8
            else None
            for _ in range(3)
        ]
        fields = [f if f is not None and f.words else None for f in fields]
        latin: tuple[LatinLang, ...] = rng.choice([("en",), ("de",), (None,), ("en", "de")])
        # the engine's one call (learning the new words) says what the three below say
        searched = automata.search(fields, latin)
        found = automata.terms_in(fields, latin)
        notable = automata.notable(fields, latin, learned=True)
        holding = automata.holding(fields, latin, notable)
        if automata.may_hold_index(fields, latin, learned=True, notable=notable):
            assert searched == (notable, found)
            assert searched is not None
            assert [getattr(f, "pairs", None) for f in searched[1]] == [
                getattr(f, "pairs", None) for f in found
            ]
        else:
            assert searched is None
            assert not any(found)
        for term_id in ids:
            term = table.terms[term_id]
            expected = _expected(term, fields, latin)
            assert {i for i, f in enumerate(fields) if term_id in found[i]} == {
                h[0] for h in expected
            }, (term.text, [f.text if f else None for f in fields], latin)
            got = automata.positions(term_id, fields, found, latin, notable)
            assert got == expected, (term.text, [f.text if f else None for f in fields])
            assert automata.positions(term_id, fields, found, latin) == expected
            # the same when told nothing of the pass that found them
            plain_found = [set(f) for f in found]
            assert automata.positions(term_id, fields, plain_found, latin) == expected
            # the words' terms looked up once for all the terms of a document
            assert automata.positions(term_id, fields, found, latin, notable, holding) == expected


def test_many_phrases_found_in_one_long_field_cost_their_places_not_a_search_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feed's field that holds a thousand configured two-word phrases: where each hit
    is read from the one pass that found them, not looked for again phrase by phrase
    over every place a phrase may begin (which cost the number of phrases times their
    places: 24 s for one 8,000-word item at bench_match's 10,000 topics)."""
    rng = random.Random(7)
    letters = "bcdfghklmnprstvz"
    made: set[str] = set()
    while len(made) < 2_000:
        made.add("".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(3)))
    vocabulary = sorted(made)
    phrases = [f"{a} {b}" for a, b in zip(vocabulary[::2], vocabulary[1::2], strict=True)]
    topics = compile_topics([TopicConfig(id=f"t{n}", any=[p]) for n, p in enumerate(phrases)])
    looked_up = 0

    class Counted(dict[str, Start]):
        def __getitem__(self, word: str) -> Start:
            nonlocal looked_up
            looked_up += 1
            return super().__getitem__(word)

    made_by = word_terms.WordTerms.__init__

    def init(self: word_terms.WordTerms, *args: Any, **kwargs: Any) -> None:
        made_by(self, *args, **kwargs)
        self.pair_starts = Counted()

    monkeypatch.setattr(word_terms.WordTerms, "__init__", init)
    text = " ".join(phrases)
    matches = topics.match(Document(title="x", content=text, language="en"))
    assert [m.topic for m in matches] == [f"t{n}" for n in range(len(phrases))]
    for match in matches:
        (evidence,) = match.evidence
        assert text[evidence.offset :].startswith(evidence.term)
    # what a word may begin looked up once a place it stands, not once a phrase found
    assert looked_up <= 2 * len(phrases)


def test_a_word_that_begins_many_phrases_costs_a_place_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where a word that begins a thousand phrases ("white …") stands, the next word is
    looked up among the words that may follow it, not compared with each: a feed's item
    repeating that word 25,000 times took 2 s (40 ms before the word table)."""
    rng = random.Random(3)
    made: set[str] = set()
    while len(made) < 1_000:
        made.add("".join(rng.choice("bcdfgklmnprst") + rng.choice("aeiou") for _ in range(3)))
    seconds = sorted(made)
    topics = compile_topics(
        [TopicConfig(id=f"t{n}", any=[f"white {w}"]) for n, w in enumerate(seconds)]
    )
    text = " ".join(["white whites"] * 200) + f" white {seconds[5]}s"
    builtin_calls = 0

    def count(frame: types.FrameType, event: str, arg: object) -> None:
        nonlocal builtin_calls
        if event == "c_call" and frame.f_code is pairs.found_pairs.__code__:
            builtin_calls += 1

    sys.setprofile(count)
    try:
        matches = topics.match(Document(title="x", content=text, language="en"))
    finally:
        sys.setprofile(None)
    assert [(m.topic, m.evidence[0].offset) for m in matches] == [("t5", text.rindex("white"))]
    # a few look-ups a place the word stands (201 places), not one a phrase
    assert builtin_calls <= 20 * 201


def test_a_word_that_begins_phrases_followed_by_words_that_end_none_costs_no_stem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most places of a word that begins phrases (often a common word that begins them by
    its stem) are followed by a word that ends no phrase at all: passed by after one
    look-up, not stemmed and compared with what this word may begin (a stem a place and
    way of stemming was ~8 % of matching an article at bench_match's 10,000 topics)."""
    topics = compile_topics(
        [TopicConfig(id="t", any=["Gipfel Treffen", "board peace", "Совет мира"])]
    )
    text = " ".join(["gipfels wort", "boarding house", "совета дом"] * 100)
    stemmed = 0
    real = pairs.stem

    def counted(word: str, lang: LatinLang) -> str:
        nonlocal stemmed
        stemmed += 1
        return real(word, lang)

    monkeypatch.setattr(pairs, "stem", counted)
    for language in ("en", "de", None):
        doc = Document(title="x", content=text, language=language)
        assert topics.match(doc) == []
        assert topics.match(replace(doc, content=text + " gipfel treffens")) != []
    # the one place followed by a word that may end a phrase, stemmed in each language
    assert stemmed <= 3 * 2


def test_a_word_that_begins_phrases_is_not_looked_for_where_nothing_may_follow_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A field holds a word that begins phrases, and words that may end some phrase, but
    none that may follow this word: its places are not looked for (a pass over the field
    a word that begins phrases was ~5 % of matching an article at bench_match's 10,000
    topics)."""
    topics = compile_topics([TopicConfig(id="t", any=["Gipfel Treffen", "board peace"])])
    text = "gipfel wort " * 100 + "peace"
    looked_for: list[str] = []
    real = pairs.places_of

    def counted(words: list[str], word: str) -> Iterator[int]:
        looked_for.append(word)
        return real(words, word)

    monkeypatch.setattr(pairs, "places_of", counted)
    for language in ("en", "de", None):
        doc = Document(title="x", content=text, language=language)
        assert topics.match(doc) == []
        assert looked_for == []
        # "board" may begin "board peace": looked for (the phrase is not there)
        assert [m.topic for m in topics.match(replace(doc, content=text + " board"))] == []
        assert looked_for == ["board"]
        looked_for.clear()
        assert [m.topic for m in topics.match(replace(doc, content=text + " gipfel treffen"))] == [
            "t"
        ]
        assert looked_for == ["gipfel"]
        looked_for.clear()


@pytest.mark.parametrize(
    "text",
    [
        "board board peace",  # the first word twice in a row: its second place counts
        "white white white houses",
        "совет совет мира и мир",
        "gipfel gipfels treffen gipfel",  # by stem, and at the field's end
        "white housing board peacing",  # the second word by its stem alone
        "советом миром",
        "peace board",
        "board",
    ],
)
def test_a_phrase_is_found_after_every_place_of_its_first_word(text: str) -> None:
    table = TermTable()
    ids = [table.add(t) for t in _TERM_TEXTS]
    automata = Automata(table.terms)
    fields: list[FieldText | None] = [FieldText.of(text), None, None]
    for latin in [("en",), ("de",), (None,), ("en", "de")]:
        found = automata.terms_in(fields, latin)
        for term_id in ids:
            term = table.terms[term_id]
            expected = _expected(term, fields, latin)
            assert (term_id in found[0]) == bool(expected), (term.text, text, latin)
