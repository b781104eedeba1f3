"""Terms, rules and evidence: what an operator's topic matches and what it explains."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.errors import TermError
from monitor.topics import TopicSet, check_topic, compile_topics, language
from monitor.topics.spec import TopicConfig
from monitor.types import Document


def topic_set(**topic: Any) -> TopicSet:
    topic.setdefault("id", "t")
    return compile_topics([TopicConfig.model_validate(topic)])


def hit(ts: TopicSet, text: str = "", **doc: Any) -> bool:
    return bool(ts.match(Document(title=text, **doc)))


@pytest.mark.parametrize(
    ("term", "text", "language"),
    [
        ("Путин", "Встреча с Путиным", "ru"),
        ("Путин", "Послание Путину", "ru"),
        ("Путин", "Визит Путина", "ru"),
        ("саммит", "После саммита", "ru"),
        ("саммит", "На саммите", "ru"),
        ("Аляска", "Встреча на Аляске", "ru"),
        ("Совет мира", "Россия и Совет мира", "ru"),
        ("Совет мира", "вступление в Совете мира", "ru"),
        ("Gipfel", "Ergebnisse des Gipfels", "de"),
        ("Friedensrat", "Mitglied des Friedensrates", "de"),
        ("Friedensrat", "Mitglied des Friedensrats", "de"),
        ("Trump", "Trumps Einladung", "de"),
        ("summit", "two summits later", "en"),
        ("meeting", "Trump meets Putin", "en"),
        # no language given: detected from the script and the words
        ("Путин", "Визит Путина в Анкоридж", None),
        ("Friedensrat", "Russland erwägt die Mitgliedschaft des Friedensrates", None),
        ("Gipfel", "Gipfels", None),
    ],
)
def test_plain_words_match_inflected_forms(term: str, text: str, language: str | None) -> None:
    assert hit(topic_set(any=[term]), text, language=language)


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("Friedensrat*", "beim Friedensratsgipfel", True),
        ("Friedensrat*", "der Friedensrat tagt", True),
        ("Friedensrat*", "der Weltfriedensrat tagt", False),
        ("Gipfel*", "das Gipfeltreffen", True),
        ("Gipfel*", "der G20-Gipfel", True),
        ("*rat", "der Sicherheitsrat", True),
        ("*rat", "Ratgeber", False),
        ("*friedens*", "Weltfriedensrates", True),
        ("саммит*", "саммитов", True),
        ("Board of Pea*", "Board of Peace", True),
    ],
)
def test_wildcards(term: str, text: str, expected: bool) -> None:
    assert hit(topic_set(any=[term]), text) is expected


PEACE = topic_set(
    any=["Board of Peace", "Friedensrat*", "Совет мира"],
    none=["World Peace Council", "Weltfriedensrat", "Всемирный совет мира"],
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia weighs joining Trump's Board of Peace", True),
        ("Russland erwägt Beitritt zum Friedensrat", True),
        ("Россия рассматривает вступление в Совет мира", True),
        ("Всемирный совет мира провёл сессию в Хельсинки", False),
        ("Заявление Всемирного совета мира", False),
        ("Der Weltfriedensrat wurde 1949 gegründet", False),
        ("Der UN-Sicherheitsrat tagt", False),
        ("Совбез ООН собрался на заседание", False),
        ("The World Peace Council marks 75 years", False),
    ],
)
def test_peace_council_and_its_distractors(text: str, expected: bool) -> None:
    assert hit(PEACE, text) is expected


SUMMIT = topic_set(
    all=[["Trump", "Трамп"], ["Putin", "Путин"], ["Alaska-Gipfel", "summit", "саммит", "Alaska"]],
    none=["Alaska Airlines", "G20"],
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trump and Putin meet at Alaska summit", True),
        ("Trump und Putin nach dem Alaska-Gipfel", True),
        ("Трамп и Путин на саммите", True),
        ("Trump und Putin beim G20-Gipfel", False),
        ("Trump flies Alaska Airlines to meet Putin", False),
        ("Trump and Putin spoke by phone", False),
        ("Putin at the summit", False),
    ],
)
def test_all_groups_and_none(text: str, expected: bool) -> None:
    assert hit(SUMMIT, text) is expected


def test_any_is_required_when_given() -> None:
    ts = topic_set(all=[["Trump"]], any=["Putin", "Kremlin"])
    assert hit(ts, "Trump calls the Kremlin")
    assert not hit(ts, "Trump calls Macron")


def test_rules_are_alternatives_with_their_own_none() -> None:
    ts = topic_set(
        rules=[
            {"all": [["Trump"], ["Putin"]], "none": ["envoy"]},
            {"any": ["spirit of Anchorage", "дух Анкориджа"]},
        ]
    )
    assert hit(ts, "Trump and Putin agree")
    assert not hit(ts, "Trump envoy meets Putin")
    assert hit(ts, "«Дух Анкориджа» сохраняется")


def test_near_counts_words_within_one_field() -> None:
    ts = topic_set(near=[{"terms": [["Trump", "Трамп"], "meet", ["Putin", "Путин"]], "within": 3}])
    assert hit(ts, "Trump to meet Putin")
    assert not hit(ts, "Trump said on Friday that he would not meet anyone before Putin")
    assert not ts.match(Document(title="Trump to meet", summary="Putin"))


def test_fields_limit_where_terms_count() -> None:
    ts = topic_set(any=["Putin"], fields=["title"])
    assert hit(ts, "Putin speaks")
    assert not ts.match(Document(title="News", content="Putin speaks"))


def test_languages_limit_documents() -> None:
    ts = topic_set(any=["Putin", "Путин"], languages=["ru"])
    assert hit(ts, "Путин выступил", language="ru")
    assert hit(ts, "Путин выступил с речью")  # detected
    assert not hit(ts, "Putin speaks", language="en")


def test_an_untold_language_is_detected_once_and_admits_every_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no tag, no function word, no Cyrillic: the language cannot be told, so a topic of
    # any language may match and Latin words stem as English and German alike; the
    # verdict is reached once an item, not again for each question asked of it
    calls: list[int] = []
    detect = language.detect_language

    def counted(fields: Any) -> str | None:
        calls.append(1)
        return detect(fields)

    monkeypatch.setattr(language, "detect_language", counted)
    ts = topic_set(any=["Gipfel"], languages=["de"])
    doc = Document(title="Gipfeln Putin", content="Anchorage Alaska")
    [match] = ts.match(doc)
    assert (match.topic, [e.term for e in match.evidence]) == ("t", ["Gipfel"])
    assert len(calls) == 1
    [trace] = ts.explain(doc)
    assert trace.matched
    assert len(calls) == 2
    assert ts.match_many([doc, doc]) == [[match], [match]]
    assert len(calls) == 4


def test_window_admits_looser_evidence_while_the_event_is_live() -> None:
    ts = topic_set(
        rules=[
            {"all": [["Trump"], ["Putin"], ["summit"]]},
            {"all": [["Trump"], ["Putin"]], "window": {"from": "2025-08-08", "to": "2025-08-17"}},
        ]
    )
    title = "Trump drops ceasefire demand, tells allies Putin wants land"
    inside = datetime(2025, 8, 16, 23, 30, tzinfo=UTC)
    assert hit(ts, title, published=inside)
    assert not hit(ts, title, published=datetime(2025, 10, 1, tzinfo=UTC))
    assert not hit(ts, title)  # no date: the window cannot apply
    assert hit(ts, title + " after summit", published=datetime(2025, 10, 1, tzinfo=UTC))


def test_evidence_names_term_field_offset_and_snippet() -> None:
    ts = topic_set(all=[["Trump"], ["Putin"], ["Anchorage"]])
    summary = (
        "Leaders met. " + "x " * 60 + "Donald Trump greeted Vladimir Putin in Anchorage today."
    )
    [match] = ts.match(Document(title="Trump and Putin", summary=summary))
    by_field = {(e.term, e.field): e for e in match.evidence}
    assert by_field["Trump", "title"].offset == 0
    anchorage = by_field["Anchorage", "summary"]
    assert anchorage.offset == summary.index("Anchorage")
    assert "in Anchorage today" in anchorage.snippet and anchorage.snippet.startswith("…")
    assert match.score == 2 + 2 + 1  # title hits count 2, others 1


def test_evidence_offset_points_at_the_inflected_form() -> None:
    [match] = topic_set(any=["Путин"]).match(Document(title="Встреча с Путиным", language="ru"))
    [ev] = match.evidence
    assert (ev.term, ev.field, ev.offset) == ("Путин", "title", 10)


def test_match_can_be_limited_to_some_topics() -> None:
    ts = compile_topics(
        [TopicConfig(id="a", any=["Putin"]), TopicConfig(id="b", any=["Putin"], name="B")]
    )
    doc = Document(title="Putin")
    assert [m.topic for m in ts.match(doc)] == ["a", "b"]
    assert [m.topic for m in ts.match(doc, topics={"b"})] == ["b"]
    assert ts.ids == ("a", "b") and ts.name("b") == "B" and ts.name("a") == "a"


def test_empty_document_matches_nothing() -> None:
    assert topic_set(any=["Putin"]).match(Document()) == []


@pytest.mark.parametrize(
    ("topic", "path", "message"),
    [
        ({"all": [["Trump", "Putin", "*"]]}, ("all", 0, 2), "term '*' has no letters"),
        ({"any": ["  "]}, ("any", 0), "empty term"),
        ({"any": ["Gip*fel"]}, ("any", 0), "'*' may only start or end a term"),
        ({"any": ["ab*"]}, ("any", 0), "a wildcard needs 3 letters"),
        ({"all": [[]]}, ("all", 0), "empty group"),
        ({"none": ["x"]}, (), "topic has no terms"),
        ({"rules": [{"none": ["x"]}]}, ("rules", 0), "rule has no terms"),
        ({"rules": [{"any": ["a", "—"]}]}, ("rules", 0, "any", 1), "has no letters"),
        ({"near": [{"terms": ["a", ["b", "!"]]}]}, ("near", 0, "terms", 1, 1), "has no letters"),
        ({"any": ["a"], "fields": ["body"]}, ("fields", 0), "unknown field 'body'"),
        (
            {"any": ["a"], "window": {"from": "2025-09-01", "to": "2025-08-01"}},
            ("window",),
            "'from' is after 'to'",
        ),
    ],
)
def test_check_topic_reports_each_problem_with_its_path(
    topic: dict[str, Any], path: tuple[str | int, ...], message: str
) -> None:
    problems = check_topic(TopicConfig.model_validate({"id": "t", **topic}))
    assert any(p == path and message in m for p, m in problems), problems
    with pytest.raises(TermError):
        compile_topics([TopicConfig.model_validate({"id": "t", **topic})])


def test_check_topic_lists_every_problem() -> None:
    topic = TopicConfig.model_validate({"id": "t", "any": ["*", "ok", "?"], "none": ["!"]})
    assert sorted(p for p, _ in check_topic(topic)) == [("any", 0), ("any", 2), ("none", 0)]


def test_valid_topic_has_no_problems() -> None:
    assert check_topic(TopicConfig(id="t", any=["Board of Peace", "Friedensrat*"])) == []


def test_duplicate_topic_ids_are_refused() -> None:
    with pytest.raises(TermError, match="duplicate"):
        compile_topics([TopicConfig(id="a", any=["x"]), TopicConfig(id="a", any=["y"])])


def test_one_word_hit_by_several_terms_is_one_piece_of_evidence() -> None:
    """ "meet", "meets" and "meeting" all match "meet": the evidence names it once, under
    the term closest to the word; a phrase outranks a word at the same place."""
    topics = compile_topics(
        [
            TopicConfig.model_validate(
                {"id": "t", "all": [["Trump"], ["meeting", "meets", "meet"]]}
            ),
            TopicConfig.model_validate({"id": "p", "any": ["Board", "Board of Peace"]}),
        ]
    )
    [match] = topics.match(Document(title="Trump and Putin meet in Anchorage"))
    assert [(e.term, e.offset) for e in match.evidence] == [("Trump", 0), ("meet", 16)]
    [match] = topics.match(Document(title="The Board of Peace meets"))
    assert [(e.term, e.offset) for e in match.evidence] == [("Board of Peace", 4)]
