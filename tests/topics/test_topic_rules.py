"""The rule language beyond all/any/none: scoped vetoes, vetoes inside a near span,
aliases (optionally inside a window) and exact terms, in English, German and Russian."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.topics import TopicSet, check_topic, compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document


def topic_set(**topic: Any) -> TopicSet:
    topic.setdefault("id", "t")
    return compile_topics([TopicConfig.model_validate(topic)])


def hit(ts: TopicSet, text: str, language: str | None = None, **doc: Any) -> bool:
    return bool(ts.match(Document(title=text, language=language, **doc)))


BOARD = topic_set(
    any=["Board of Peace", "Peace Council", "Friedensrat", "Совет мира"],
    none=[
        {
            "terms": ["Studies", "church", "Kirche", "церкви", "Sudan", "Sudans", "Судана"],
            "within": 2,
        }
    ],
)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("University opens a Board of Peace Studies", "en", False),
        ("The church's peace council meets on Sunday", "en", False),
        ("Sudan's Peace Council calls for a ceasefire", "en", False),
        # the veto reaches only the hit near it: the same words far away do not veto
        ("Trump's Board of Peace meets in Washington; church leaders welcome it", "en", True),
        (
            "Board of Peace Studies open day, while Trump's Board of Peace signs its charter",
            "en",
            True,
        ),
        ("Der Friedensrat der Kirche tagt am Sonntag", "de", False),
        ("Russland erwägt den Beitritt zu Trumps Friedensrat", "de", True),
        ("Совет мира Судана призвал к перемирию", "ru", False),
        ("Россия изучает устав Совета мира Трампа", "ru", True),
    ],
)
def test_scoped_veto_drops_only_the_hits_near_it(text: str, language: str, expected: bool) -> None:
    assert hit(BOARD, text, language) is expected


MEETING = topic_set(
    near=[
        {
            "terms": [
                ["Trump", "Трамп"],
                ["Putin", "Путин"],
                ["meet", "Treffen", "treffen", "встрет*"],
            ],
            "within": 6,
            "none": ["Zelensky", "Selenskyj", "Зеленский"],
        }
    ]
)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Trump intends to meet Putin, then Zelensky", "en", True),
        ("Trump to meet Zelensky after Putin call", "en", False),
        ("Trump will Putin meet next week", "en", True),
        ("Trump will Selenskyj nach dem Putin-Telefonat treffen", "de", False),
        ("Trump will Putin treffen, danach Selenskyj", "de", True),
        ("Трамп встретится с Путиным, а затем с Зеленским", "ru", True),
        ("Трамп встретится с Зеленским после звонка Путину", "ru", False),
    ],
)
def test_a_near_veto_counts_only_inside_the_span(text: str, language: str, expected: bool) -> None:
    assert hit(MEETING, text, language) is expected


def test_an_item_wide_veto_still_drops_the_whole_item() -> None:
    ts = topic_set(all=[["Trump"], ["Putin"], ["meet"]], none=["Zelensky"])
    assert not hit(ts, "Trump intends to meet Putin, then Zelensky", "en")


SUMMIT = topic_set(
    all=[["Trump", "Трамп"], ["Putin", "Путин"], ["summit", "Gipfel", "саммит"]],
    aliases={
        "Trump": ["US president", "US-Präsident", "американский лидер"],
        "Putin": {
            "terms": ["Kremlin leader", "Kremlchef", "хозяин Кремля"],
            "window": {"from": "2025-08-01", "to": "2025-12-31"},
        },
    },
)
AUGUST = datetime(2025, 8, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The US president says the summit with Putin is on", "en"),
        ("Trump and the Kremlin leader prepare the summit", "en"),
        ("Der US-Präsident bestätigt den Gipfel mit Putin", "de"),
        ("Trump und der Kremlchef bereiten den Gipfel vor", "de"),
        ("Американский лидер подтвердил саммит с Путиным", "ru"),
        ("Путин и американский лидер обсудили саммит", "ru"),
        # inflected aliases
        ("Саммит: Путин ответил американскому лидеру", "ru"),
    ],
)
def test_aliases_count_as_the_name_they_stand_for(text: str, language: str) -> None:
    assert hit(SUMMIT, text, language, published=AUGUST)


def test_an_alias_with_a_window_counts_only_inside_it() -> None:
    text = "Trump and the Kremlin leader prepare the summit"
    assert hit(SUMMIT, text, "en", published=AUGUST)
    assert not hit(SUMMIT, text, "en", published=datetime(2026, 3, 1, tzinfo=UTC))
    assert not hit(SUMMIT, text, "en")  # no date: not inside any window


def test_an_alias_alone_does_not_stand_for_both_names() -> None:
    assert not hit(SUMMIT, "The US president hails the summit", "en")


def test_evidence_names_the_alias_that_hit() -> None:
    (found,) = SUMMIT.match(
        Document(title="The US president says the summit with Putin is on", language="en")
    )
    terms = {e.term for e in found.evidence}
    assert "US president" in terms and "Trump" not in terms


@pytest.mark.parametrize(
    ("term", "text", "language", "expected"),
    [
        ('"Putin"', "Putin speaks", "en", True),
        ('"Putin"', "Putins Rede", "de", False),
        ("Putin", "Putins Rede", "de", True),
        ('"Peace Council"', "the Peace Council met", "en", True),
        ('"Peace Council"', "the Peace Councils met", "en", False),
        ('"Friedensrat"', "des Friedensrates", "de", False),
        ('"Совет мира"', "в Совете мира", "ru", False),
        ('"Совет мира"', "Совет мира собрался", "ru", True),
        # case and diacritics are still folded
        ('"Selenskyj"', "SELENSKYJ spricht", "de", True),
        ('"Zelensky"', "Zelenský spoke", "en", True),
        # stems are not used: "meeting" is not "meet"
        ('"meet"', "the meeting", "en", False),
    ],
)
def test_exact_terms_are_neither_stemmed_nor_inflected(
    term: str, text: str, language: str, expected: bool
) -> None:
    assert hit(topic_set(any=[term]), text, language) is expected


@pytest.mark.parametrize(
    ("topic", "path", "message"),
    [
        ({"any": ["x"], "aliases": {"y": ["z"]}}, ("aliases", "y"), "not a term of this topic"),
        ({"any": ["x"], "aliases": {"x": ["*"]}}, ("aliases", "x", 0), "has no letters"),
        ({"any": ["x"], "none": [{"terms": ["a*"]}]}, ("none", 0, "terms", 0), "3 letters"),
        ({"near": [{"terms": ["a", "b"], "none": ["!"]}]}, ("near", 0, "none", 0), "no letters"),
        ({"any": ['"a*"']}, ("any", 0), "exact term"),
        ({"any": ['a"b']}, ("any", 0), "quote the whole term"),
    ],
)
def test_check_topic_names_problems_in_the_new_forms(
    topic: dict[str, Any], path: tuple[Any, ...], message: str
) -> None:
    problems = check_topic(TopicConfig.model_validate({"id": "t", **topic}))
    assert any(p == path and message in m for p, m in problems), problems
