"""Normalization shared by terms and articles, seen through what a topic matches."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from monitor.topics import compile_topics
from monitor.topics.language import detect_language
from monitor.topics.snippet import snippet
from monitor.topics.spec import TopicConfig
from monitor.topics.text import TOKEN, FieldText, fold
from monitor.types import Document


def matches(term: str, text: str, language: str | None = None) -> bool:
    topics = compile_topics([TopicConfig(id="t", any=[term])])
    return bool(topics.match(Document(title=text, language=language)))


@pytest.mark.parametrize(
    ("term", "text"),
    [
        # case folding and NFKC (full-width letters, ligatures)
        ("putin", "PUTIN arrives"),
        ("Trump", "Ｔｒｕｍｐ arrives"),
        ("office", "the ofﬁce of the president"),
        # diacritics ignored
        ("Zurich", "Gespräche in Zürich"),
        ("Macron", "Mácron said"),
        ("Зеленский", "Зеле\u0301нский"),  # a stress mark
        # German umlauts and ß also as ae/oe/ue/ss
        ("Außenminister", "der Aussenminister sagte"),
        ("Aussenminister", "der Außenminister sagte"),
        ("Präsident", "der Praesident sagte"),
        ("Praesident", "der Präsident sagte"),
        ("Österreich", "Oesterreich stimmt zu"),
        ("für", "fuer den Frieden"),
        # ё = е
        ("Черноморье", "Черноморьё"),
        ("ещё", "еще одна встреча"),
        # invisible characters inside words
        ("Trump", "Tr\u00adump says"),
        ("Board of Peace", "Board of \u200bPeace"),
        ("Putin", "Pu\u200btin"),
        ("саммит", "сам\u00adмит"),
        # no-break spaces, typographic quotes and dashes separate words
        ("Board of Peace", "Board\u00a0of\u00a0Peace"),
        ("Trump", "«Trump»"),
        ("Putin", "„Putin“"),
        ("Trump", "Trump’s plan"),
        ("Putin", "Trump–Putin summit"),
        ("Trump–Putin", "the Trump-Putin summit"),
        # hyphenated compounds are split and kept
        ("Gipfel", "nach dem Alaska-Gipfel"),
        ("Alaska-Gipfel", "nach dem Alaska-Gipfel"),
        ("Alaska-Gipfel", "nach dem Alaska–Gipfel"),
        ("Alaska", "nach dem Alaska-Gipfel"),
    ],
)
def test_normalization_makes_these_match(term: str, text: str) -> None:
    assert matches(term, text)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("Putin", "Putinversteher"),  # whole words only
        ("Rat", "Sicherheitsrat"),
        ("Trump", "trumpet"),
        ("Alaska-Gipfel", "G20-Gipfel"),
        ("Board of Peace", "board the ship, peace"),
    ],
)
def test_whole_words_only(term: str, text: str) -> None:
    assert not matches(term, text)


def test_fold_keeps_short_i_and_folds_yo() -> None:
    assert fold("Всемирный") == "всемирный"
    assert fold("Ёлка") == "елка"
    assert fold("Straße") == "strasse"
    assert fold("Grüße") == fold("Gruesse")


def test_field_text_keeps_spans_into_the_original() -> None:
    field = FieldText.of("„Trump‑Putin“ in\u00a0Anchorage")
    assert field.words == ["trump", "putin", "in", "anchorage"]
    start, end = field.spans[3]
    assert field.text[start:end] == "Anchorage"


def test_a_span_of_some_words_is_where_the_tokens_stand() -> None:
    # evidence locates one or two words of a field folded whole without the others
    rng = random.Random(6)
    alphabet = [*"ab cdéßäöüÜ,-'\n\t.зжЁё日", "ae", "oe", "\u200b", "\u00ad", "  ", "Ⅻ"]
    whole = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        tokens = [m.span() for m in TOKEN.finditer(text) if fold(m.group())]
        field = FieldText.of(text)
        whole += field.spans == tokens and FieldText.of(text)._whole is not None
        asked = FieldText.of(text)
        for _ in range(3 if tokens else 0):
            first = rng.randrange(len(tokens))
            last = min(len(tokens) - 1, first + rng.randrange(4))
            assert asked.span(first, last) == (tokens[first][0], tokens[last][1]), text
        assert field.spans == tokens, text
    assert whole > 500  # the layout path was taken


def test_an_ascii_field_has_the_words_and_spans_of_its_tokens() -> None:
    # ASCII fields are folded whole by a byte table, without the check for letters that
    # need the token path: the words and spans are those of the tokens, every character
    # of ASCII (controls, NUL, punctuation, "ae"/"oe"/"ue" that collapse) among them
    alphabet = [chr(c) for c in range(128)] + ["ae", "oe", "ue", "AE", "  ", "Ss"] * 8
    for text, field, tokens in _random_fields(random.Random(8), alphabet):
        assert field.joined == (" " + " ".join(field.words) + " " if tokens else ""), text


def test_a_field_with_invisible_marks_has_the_words_of_its_tokens() -> None:
    # the marks are taken out before the field is folded whole (one replace a mark)
    marks = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
    alphabet = [*"abzAЖжёÜß ,-.\n", "ae", "\u200e", *marks * 3]
    assert sum(1 for _ in _random_fields(random.Random(9), alphabet)) == 20_000


def _random_fields(
    rng: random.Random, alphabet: list[str]
) -> Iterator[tuple[str, FieldText, list[re.Match[str]]]]:
    """20,000 random texts of ``alphabet``'s pieces as fields, each checked to have the
    words and spans of its tokens (the text's own reading) before it is given out."""
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        tokens = [m for m in TOKEN.finditer(text) if fold(m.group())]
        field = FieldText.of(text)
        assert field.words == [fold(m.group()) for m in tokens], repr(text)
        assert field.spans == [m.span() for m in tokens], repr(text)
        yield text, field, tokens


@pytest.mark.parametrize("script", ["ascii", "mixed"])
def test_a_span_far_into_a_long_field_is_where_its_token_stands(script: str) -> None:
    rng = random.Random(7)
    pieces = ["ab", " ", "  ", ",", "c", "Ü", "ae"] + (
        ["жЁ", "x\u200by"] if script == "mixed" else []
    )
    for _ in range(30):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(2_000, 6_000)))
        tokens = [m.span() for m in TOKEN.finditer(text) if fold(m.group())]
        field = FieldText.of(text)
        for first in (0, len(tokens) - 1, *rng.sample(range(len(tokens)), 5)):
            last = min(len(tokens) - 1, first + rng.randrange(3))
            assert field.span(first, last) == (tokens[first][0], tokens[last][1])


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Путин и Трамп провели переговоры", "ru"),
        ("Der Gipfel in Alaska ist zu Ende, und die Gespräche gehen weiter", "de"),
        ("The summit in Alaska is over and the talks will go on", "en"),
        ("Putin Trump", None),
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language([FieldText.of(text)]) == language


def test_snippet_is_short_with_ellipses_and_collapsed_space() -> None:
    text = "word " * 40 + "Anchorage\n\n  summit " + "word " * 40
    start = text.index("Anchorage")
    shown, hit_start, hit_end = snippet(text, start, start + len("Anchorage"))
    assert shown.startswith("…") and shown.endswith("…")
    assert 60 <= len(shown) <= 130
    assert shown[hit_start:hit_end] == "Anchorage"
    assert "\n" not in shown and "  " not in shown
