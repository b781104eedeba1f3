"""What the presearch remembers of words it has seen, and where it looks for phrases, may
not change what matches: the same document matches the same topics whatever was matched
before it, whatever the memory's size, and however a phrase's stretches are found."""

from __future__ import annotations

import gc
import random
import tracemalloc
from typing import Any

import pytest

from monitor.topics import TopicSet, compile_topics, presearch, word_terms
from monitor.topics.spec import TopicConfig
from monitor.types import Document, Match

TOPICS: list[dict[str, Any]] = [
    {"id": "gipfel", "any": ["Gipfel"]},
    {"id": "white-house", "any": ["White House"]},
    {"id": "council", "any": ["Совет мира"]},
    {"id": "press", "any": ["press secretary", "*rat"]},
]

# (text, language); the same words under other languages, common first words of phrases
DOCUMENTS = [
    ("Die Gipfeln der Alpen", "en"),  # "n" is a German ending, not an English one
    ("Die Gipfeln der Alpen", "de"),
    ("Die Gipfeln der Alpen", None),
    ("white " * 12 + "paper on the White Houses of the south", "en"),
    ("white " * 12 + "paper on the White Houses of the south", "de"),
    ("house " * 12 + "rules: the white house said", "en"),
    ("The press " * 8 + "secretaries of the Bundesrat", "en"),
    ("Заседание Совета мира " + "совет " * 10, "ru"),
    ("Заседание Совета мира " + "совет " * 10, None),
    ("Советом мира назвали", "ru"),
]


def matches(ts: TopicSet, text: str, language: str | None) -> list[str]:
    return [m.topic for m in ts.match(Document(title=text, language=language))]


def fresh(text: str, language: str | None) -> list[str]:
    return matches(compile_topics([TopicConfig.model_validate(t) for t in TOPICS]), text, language)


def test_the_documents_match_what_they_should() -> None:
    got = [fresh(text, language) for text, language in DOCUMENTS]
    assert got == [
        [],
        ["gipfel"],
        ["gipfel"],
        ["white-house"],
        ["white-house"],  # German takes "s" too
        ["white-house"],
        ["press"],
        ["council"],
        ["council"],
        ["council"],
    ]


@pytest.mark.parametrize("limit", [1, 3, 1000])
@pytest.mark.parametrize("order", [1, -1])
def test_words_remembered_from_other_documents_change_nothing(
    monkeypatch: pytest.MonkeyPatch, limit: int, order: int
) -> None:
    monkeypatch.setattr(word_terms, "CACHE_LIMIT", limit)
    ts = compile_topics([TopicConfig.model_validate(t) for t in TOPICS])
    for _ in range(2):
        for text, language in DOCUMENTS[::order]:
            assert matches(ts, text, language) == fresh(text, language), (text, language)


@pytest.mark.parametrize("stretches", [0, 1, 2, 100])
def test_phrases_are_found_however_many_stretches_are_searched(
    monkeypatch: pytest.MonkeyPatch, stretches: int
) -> None:
    for text, language in DOCUMENTS:
        monkeypatch.undo()
        expected = fresh(text, language)
        # every field is searched by stretches, however short
        monkeypatch.setattr(presearch, "_SHORT", 0)
        monkeypatch.setattr(presearch, "_STRETCHES", stretches)
        assert fresh(text, language) == expected, (text, language)


def test_the_words_remembered_are_bounded_in_characters_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feed whose text holds long runs of letters (hex digests, base64, glued URLs)
    brings a new long "word" with every item: memory may not grow with their length."""
    monkeypatch.setattr(word_terms, "CACHE_CHARS", 50_000)
    ts = compile_topics([TopicConfig.model_validate(t) for t in TOPICS])
    for n in range(60):
        blob = f"{n:x}".rjust(8, "g") * 500  # 4,000 letters, one word
        assert matches(ts, f"White House {blob} said", "en") == ["white-house"]
    remembered = [word for way in ts._automata._by_latin.values() for word in way.known]
    assert 0 < sum(map(len, remembered)) <= 50_000
    assert "white" in remembered  # the last field's words stay remembered


@pytest.mark.parametrize("language", ["en", None])
def test_matching_long_words_keeps_no_memory_that_grows_with_their_length(
    monkeypatch: pytest.MonkeyPatch, language: str | None
) -> None:
    """Every cache of words (folding, stems, the presearch's) leaves out or forgets long
    ones: a hundred documents with a new 20,000-letter word each do not stay in memory."""
    monkeypatch.setattr(word_terms, "CACHE_CHARS", 20_000)
    ts = compile_topics([TopicConfig.model_validate(t) for t in TOPICS])

    def match_words(numbers: range) -> None:
        for n in numbers:
            blob = f"{n:x}".rjust(8, "g") * 2500  # 20,000 letters, one word
            assert matches(ts, f"White House {blob} said", language) == ["white-house"]

    match_words(range(5))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        match_words(range(5, 105))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 500_000  # the words: 2 MB each time they are all kept


# Topics whose candidates need one term of a small group (the "index"): a document with
# none of those terms is told apart by its words before the full search.
GATED_TOPICS: list[dict[str, Any]] = [
    {"id": "summit", "all": [["Trump"], ["summit", "meeting", "talks", "Gipfel*"]]},
    {
        "id": "council",
        "all": [["Совет мира", "Board of Peace"], ["Trump", "Трамп", "Gaza", "members"]],
    },
]
GATED_DOCUMENTS = [
    Document(title="The summit talks were long", language="en"),  # no index term
    Document(title="Trump at the summit", language="en"),
    Document(title="Talks", summary="Trump spoke at the meeting", language="en"),
    Document(title="The Board of Peace members met", language="en"),
    Document(title="The board", summary="of peace and its members", language="en"),
    Document(title="Трамп и Совету мира", language="ru"),  # the phrase by its stems
    Document(title="Совет", summary="мира Трамп", language="ru"),  # not across fields
    Document(title="Gaza members", language=None),
]


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_documents_told_apart_by_their_words_match_as_when_searched_in_full(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(word_terms, "CACHE_LIMIT", limit)
    configs = [TopicConfig.model_validate(t) for t in GATED_TOPICS]

    def topics_of(ts: TopicSet, doc: Document) -> list[str]:
        return [m.topic for m in ts.match(doc)]

    one_by_one = [topics_of(compile_topics(configs), doc) for doc in GATED_DOCUMENTS]
    together = [
        [m.topic for m in got] for got in compile_topics(configs).match_many(GATED_DOCUMENTS)
    ]
    with monkeypatch.context() as searched_in_full:
        told_apart = presearch.Automata.may_hold_index
        searched_in_full.setattr(
            presearch.Automata,
            "may_hold_index",
            lambda *args, **kwargs: told_apart(*args, **kwargs) or True,
        )
        full = [topics_of(compile_topics(configs), doc) for doc in GATED_DOCUMENTS]

    assert (
        one_by_one
        == together
        == full
        == [
            [],
            ["summit"],
            ["summit"],
            ["council"],
            [],
            ["council"],
            [],
            [],
        ]
    )


# Words of the gated topics' index terms and phrases, their inflections and stems, and
# words that begin or end a phrase without the rest of it.
_GATED_WORDS = [
    "Trump",
    "Trumps",
    "Трамп",
    "Трампа",
    "Трампом",
    "Board",
    "board",
    "boards",
    "of",
    "Peace",
    "peace",
    "Совет",
    "Совета",
    "совет",
    "мира",
    "мир",
    "Gaza",
    "members",
    "member",
    "summit",
    "meeting",
    "Gipfel",
    "Gipfeltreffen",
    "talks",
    "the",
    "a",
    "press",
    "house",
    "Мира",
    "peaces",
]


@pytest.mark.parametrize("limit", [2, 40, 1000])
def test_documents_told_apart_by_one_pass_over_their_words_match_as_searched_in_full(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    # The engine rejects a document none of whose words is a word of the index (a word
    # that holds an index term or may begin or end an index phrase) by one pass over its
    # fields' words, before any set of its notable words is built: random documents,
    # matched one by one and in batches, as when every document is searched in full.
    monkeypatch.setattr(word_terms, "CACHE_LIMIT", limit)
    rng = random.Random(limit)
    configs = [TopicConfig.model_validate(t) for t in GATED_TOPICS]
    docs = []
    for _ in range(400):
        fields = [
            " ".join(rng.choices(_GATED_WORDS + ["x", "y"] * 20, k=rng.randint(0, 6)))
            for _ in range(4)
        ]
        docs.append(
            Document(
                title=fields[0] or "t",
                summary=fields[1] or None,
                content=fields[2] or None,
                article=fields[3] or None,
                language=rng.choice(["en", "de", "ru", None]),
            )
        )

    def names(found: list[list[Match]]) -> list[list[str]]:
        return [[m.topic for m in got] for got in found]

    one_by_one = compile_topics(configs)
    alone = names([one_by_one.match(doc) for doc in docs])
    batches = compile_topics(configs)
    together = names(
        [got for n in range(0, 400, 64) for got in batches.match_many(docs[n : n + 64])]
    )
    with monkeypatch.context() as searched_in_full:
        searched_in_full.setattr(presearch.Automata, "may_hold_index", lambda *args, **kwargs: True)
        full = names(compile_topics(configs).match_many(docs))
    assert alone == together == full
    assert sum(map(bool, full)) > 20  # the documents match, some of them
