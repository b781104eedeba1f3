"""Story identity across languages (issue 17, point 5): the pure decision per language pair."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerts.crosslang import (
    CrossLanguage,
    EntityTable,
    compare_headlines,
    headline_key,
    topic_table,
)
from monitor.alerts.policy import (
    AlertPolicy,
    KnownStory,
    StoryFacts,
    StoryOutcome,
    decide_match,
    matched_article,
)
from monitor.topics.spec import TopicConfig
from monitor.types import Article, Evidence, Match
from tests.conftest import default_topics

SUMMIT = next(TopicConfig.model_validate(t) for t in default_topics() if "putin" in t["id"])
NOW = datetime(2025, 8, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def table() -> EntityTable:
    return topic_table(SUMMIT)


def judge(table: EntityTable, a: tuple[str, str], b: tuple[str, str]) -> CrossLanguage:
    return compare_headlines(headline_key(*a, table), headline_key(*b, table), table)


SAME = [
    (
        ("Putin and Trump to meet in Anchorage on August 15, Ushakov says", "en"),
        ("Путин и Трамп встретятся в Анкоридже 15 августа, сообщил Ушаков", "ru"),
    ),
    (
        ("White House is considering inviting Zelenskyy to Alaska - NBC News", "en"),
        ("Белый дом рассматривает приглашение Зеленского на Аляску", "ru"),
    ),
    (
        ("Witkoff meets Zelensky in Kyiv ahead of Trump-Putin summit", "en"),
        ("Witkoff trifft Selenskyj in Kiew vor dem Gipfel von Trump und Putin", "de"),
    ),
    (
        ("Putin und Trump treffen sich am 15. August in Anchorage, sagt Lawrow", "de"),
        ("Путин и Трамп встретятся 15 августа в Анкоридже, заявил Лавров", "ru"),
    ),
    (
        ("Kremlchef Putin lädt Trump nach Moskau ein, sagt Uschakow", "de"),
        ("Путин пригласил Трампа в Москву, заявил Ушаков", "ru"),
    ),
]

TOPIC_ONLY = frozenset({CrossLanguage.ONLY_TOPIC_WORDS, CrossLanguage.TOO_FEW_ENTITIES})
DIFFERENT: list[tuple[tuple[str, str], tuple[str, str], frozenset[CrossLanguage]]] = [
    # the same leaders and place, nothing else in common: two stories of the summit
    (
        ("Trump says he will 'feel out' Putin in Alaska on ending the war", "en"),
        ("Трамп встретится с Путиным в Анкоридже на Аляске, заявил Белый дом", "ru"),
        TOPIC_ONLY,
    ),
    (
        ("Putin and Trump to meet in Anchorage on August 15, Ushakov says", "en"),
        ("Путин и Трамп встретятся в Анкоридже 22 августа, сообщил Ушаков", "ru"),
        frozenset({CrossLanguage.NUMBERS_DIFFER}),
    ),
    (
        ("Trump cancels Budapest summit with Putin, Rubio says", "en"),
        ("Трамп и Путин проведут саммит в Будапеште, сообщил Рубио", "ru"),
        frozenset({CrossLanguage.MARKERS_DIFFER}),
    ),
    (
        ("Selenskyj trifft Trump in Washington nach dem Gipfel mit Putin", "de"),
        ("Уиткофф встретился с Путиным в Москве перед саммитом с Трампом", "ru"),
        TOPIC_ONLY,
    ),
    (
        ("Selenskyj trifft Trump in Washington nach dem Gipfel mit Putin", "de"),
        ("Witkoff meets Putin in Moscow ahead of summit with Trump", "en"),
        TOPIC_ONLY,
    ),
    # a common word that sounds alike ("Пресс-конференция", "praises") is no name
    (
        ("Putin praises Trump's peace efforts ahead of Alaska summit - CNN", "en"),
        ("Пресс-конференция после переговоров Путина и Трампа на Аляске", "ru"),
        TOPIC_ONLY,
    ),
]


@pytest.mark.parametrize(("a", "b"), SAME, ids=lambda p: p[1] if isinstance(p, tuple) else "")
def test_headlines_naming_the_same_people_places_and_numbers_are_one_story(
    table: EntityTable, a: tuple[str, str], b: tuple[str, str]
) -> None:
    assert judge(table, a, b) is CrossLanguage.SAME_STORY
    assert judge(table, b, a) is CrossLanguage.SAME_STORY


@pytest.mark.parametrize(("a", "b", "why"), DIFFERENT)
def test_headlines_sharing_only_the_topic_or_disagreeing_are_two_stories(
    table: EntityTable, a: tuple[str, str], b: tuple[str, str], why: frozenset[CrossLanguage]
) -> None:
    assert judge(table, a, b) in why
    assert judge(table, b, a) in why


def test_a_name_opening_the_headline_counts_only_where_the_table_knows_it(
    table: EntityTable,
) -> None:
    """A sentence starts with a capital in any language: "Пресс-конференция" is no name."""
    a = ("Lawrow: Putin und Trump treffen sich in Anchorage", "de")
    b = ("Лавров: Путин и Трамп встретятся в Анкоридже", "ru")
    assert judge(table, a, b) is not CrossLanguage.SAME_STORY


def test_headlines_in_one_language_are_left_to_the_title_comparison(table: EntityTable) -> None:
    a = ("Putin and Trump to meet in Anchorage on August 15, Ushakov says", "en")
    assert judge(table, a, a) is CrossLanguage.SAME_LANGUAGE


def test_the_topic_table_joins_aliases_and_keeps_context_names_apart(table: EntityTable) -> None:
    alias = headline_key("Президент России встретится с Трампом", "ru", table)
    name = headline_key("Putin to meet Trump", "en", table)
    assert name.entities <= alias.entities
    zelensky = headline_key("Zelensky", "en", table).entities
    assert zelensky and zelensky.isdisjoint(table.topic), "context, not the topic's subject"
    assert headline_key("Trump", "en", table).entities <= table.topic


def article(title: str, language: str) -> Article:
    return Article(
        feed="reuters",
        article_key="k",
        content_hash="h",
        url="https://reuters.example/1",
        title=title,
        language=language,
        published=NOW,
    )


MATCH = Match("summit", 1.0, (Evidence("Putin", "title", 0, "Putin"),))
RUSSIAN = KnownStory(
    id="tass-story",
    title="Путин и Трамп встретятся в Анкоридже 15 августа, сообщил Ушаков",
    feeds=("tass-ru",),
    language="ru",
)


def test_the_policy_joins_the_story_an_outlet_told_in_another_language(
    table: EntityTable,
) -> None:
    policy = AlertPolicy(entity_tables={"summit": table})
    item = matched_article(
        article("Putin and Trump to meet in Anchorage on August 15, Ushakov says", "en"), (MATCH,)
    )
    decision = decide_match(policy, item, MATCH, StoryFacts(other_languages=(RUSSIAN,)), NOW)
    assert decision.outcome is StoryOutcome.JOINS_STORY
    assert decision.joined == RUSSIAN

    other = matched_article(article("Trump says Putin call on Ukraine went well", "en"), (MATCH,))
    decision = decide_match(policy, other, MATCH, StoryFacts(other_languages=(RUSSIAN,)), NOW)
    assert decision.outcome is StoryOutcome.NEW_STORY


def test_a_topic_without_a_table_never_joins_across_languages() -> None:
    item = matched_article(
        article("Putin and Trump to meet in Anchorage on August 15, Ushakov says", "en"), (MATCH,)
    )
    facts = StoryFacts(other_languages=(RUSSIAN,))
    decision = decide_match(AlertPolicy(), item, MATCH, facts, NOW)
    assert decision.outcome is StoryOutcome.NEW_STORY
