"""Near-duplicate titles: the same wire story from two outlets is one story; different
stories about the same subject are not (thresholds: tests/benchmarks/story_thresholds.py)."""

from __future__ import annotations

import pytest

from monitor.alerts.stories import (
    TopicWords,
    same_story,
    title_fingerprint,
    topic_words,
)
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from tests.conftest import default_topics

SAME = [
    (
        "en",
        "Trump Says He Will Meet With Putin in Alaska Next Week - The New York Times",
        "Trump, Putin meeting set for next week in Alaska - The Washington Post",
    ),
    (
        "en",
        "Children among victims in Russian air strikes, hours after Trump-Putin talks shelved",
        "Children among dead in Russian air strikes, hours after Trump-Putin talks shelved - BBC",
    ),
    (
        "en",
        "Kamala Harris will not run for California governor in 2026 - CNN",
        "Kamala Harris says she won't run for governor of California in 2026 - ABC News",
    ),
    (
        "de",
        "Trump und Putin treffen sich am Freitag in Alaska",
        "Putin und Trump treffen sich am Freitag in Alaska - tagesschau.de",
    ),
    (
        "de",
        "Russland erwägt Beitritt zu Trumps Friedensrat",
        "Russland erwägt den Beitritt zum Friedensrat von Trump",
    ),
    (
        "de",
        "Russischer Vizeaußenminister: Trump nach Alaska-Gipfel nach Russland eingeladen",
        "Trump nach dem Alaska-Gipfel nach Russland eingeladen, sagt russischer Vizeaußenminister",
    ),
    (
        "ru",
        "Путин и Трамп встретятся на Аляске 15 августа",
        "Трамп и Путин встретятся 15 августа на Аляске",
    ),
    (
        "ru",
        "Россия рассматривает вступление в Совет мира Трампа",
        "Россия рассматривает возможность вступления в «Совет мира» Трампа",
    ),
    (
        "ru",
        "Ушаков: Путин и Трамп обсудили по телефону подготовку саммита",
        "Путин и Трамп обсудили по телефону подготовку саммита, заявил Ушаков",
    ),
]

DIFFERENT = [
    ("en", "Trump, Putin to meet in Alaska", "Putin arrives in Alaska for summit"),
    (
        "en",
        "Trump will seek to squeeze Ukraine ceasefire deal out of Putin at Alaska summit",
        "Trump-Putin summit in Alaska ends with no deal on Ukraine ceasefire",
    ),
    (
        "en",
        "Trump and Putin summit ends with a deal on Ukraine",
        "Trump and Putin summit ends with no deal on Ukraine",
    ),
    (
        "en",
        "Trump likely to name White House ballroom after himself, officials say",
        "Trump says no plans to name White House ballroom after himself",
    ),
    (
        "de",
        "Trump und Putin wollen sich in Alaska treffen",
        "Putin ist zum Gipfel in Alaska eingetroffen",
    ),
    (
        "de",
        "Gipfel in Alaska endet mit einer Einigung zur Ukraine",
        "Gipfel in Alaska endet ohne Einigung zur Ukraine",
    ),
    ("ru", "Трамп и Путин встретятся на Аляске", "Путин прилетел на Аляску на саммит"),
    (
        "ru",
        "Саммит на Аляске завершился соглашением по Украине",
        "Саммит на Аляске завершился без соглашения по Украине",
    ),
    (
        "ru",
        "Зохран Мамдани — кандидат на пост мэра Нью-Йорка",
        "Зохран Мамдани — новый мэр Нью-Йорка",
    ),
]


@pytest.mark.parametrize(("language", "a", "b"), SAME)
def test_the_same_wire_story_is_one_story(language, a, b):
    assert same_story(a, b, language)
    assert same_story(b, a, language)


@pytest.mark.parametrize(("language", "a", "b"), DIFFERENT)
def test_different_stories_about_one_subject_stay_apart(language, a, b):
    assert not same_story(a, b, language)
    assert not same_story(b, a, language)


def test_fingerprint_ignores_case_accents_punctuation_and_outlet_suffix():
    assert title_fingerprint("Putin's SUMMIT — «Gípfel»!", "de") == title_fingerprint(
        "putin s summit gipfel", "de"
    )
    assert title_fingerprint("Trump meets Putin - Reuters", "en") == title_fingerprint(
        "Trump meets Putin", "en"
    )
    assert title_fingerprint("Trump meets Putin - WSJ - The Wall Street Journal", "en") == (
        title_fingerprint("Trump meets Putin", "en")
    )
    # A lowercase tail is part of the title, not an outlet.
    assert "arriv" in title_fingerprint("Live updates - Putin arrives in Alaska", "en")
    assert title_fingerprint("Путина встретили", "ru") == title_fingerprint("Путин встретил", "ru")


def test_short_titles_must_be_equal_and_languages_without_stemmer_work():
    assert not same_story("Breaking news", "Breaking news live", "en")
    assert same_story("Breaking news", "Breaking  news!", "en")
    assert same_story(
        "Trump e Putin si incontrano in Alaska venerdì",
        "Trump e Putin si incontrano venerdì in Alaska",
        "it",
    )
    assert not same_story("", "", None)


@pytest.fixture(scope="module")
def topic_vocabulary() -> dict[str, TopicWords]:
    """The words of the topics shipped in config/monitor.yaml."""
    topics = compile_topics([TopicConfig.model_validate(t) for t in default_topics()])
    return {tid: topic_words(topics.terms(tid)) for tid in topics.ids}


# Titles of one topic that look alike only through the topic's own words, or differ in
# whether the event still takes place: each is news, and an alert of its own.
NEW_DEVELOPMENTS = [
    (
        "trump-putin-summit",
        "en",
        "Trump and Putin to hold summit in Anchorage",
        "Putin says Anchorage summit with Trump was productive",
    ),
    (
        "trump-putin-summit",
        "en",
        "Trump and Putin to hold summit in Anchorage",
        "Trump and Putin summit in Anchorage collapses",
    ),
    (
        "trump-putin-summit",
        "de",
        "Gipfeltreffen in Anchorage: Trump empfängt Putin",
        "Gipfeltreffen in Anchorage abgesagt: Trump empfängt Putin",
    ),
    (
        "trump-putin-summit",
        "ru",
        "Саммит Путина и Трампа в Анкоридже состоится в пятницу",
        "Саммит Путина и Трампа в Анкоридже отложен",
    ),
    (
        "peace-council",
        "en",
        "Trump unveils his Board of Peace in Davos",
        "Trump's Board of Peace meets for the first time",
    ),
]


@pytest.mark.parametrize(("topic", "language", "a", "b"), NEW_DEVELOPMENTS)
def test_a_new_development_of_a_topic_is_a_story_of_its_own(
    topic_vocabulary, topic, language, a, b
):
    words = topic_vocabulary[topic]
    assert not same_story(a, b, language, words)
    assert not same_story(b, a, language, words)


@pytest.mark.parametrize(("language", "a", "b"), SAME)
def test_wire_copies_stay_one_story_with_the_topic_words_set_aside(
    topic_vocabulary, language, a, b
):
    for words in topic_vocabulary.values():
        assert same_story(a, b, language, words)


def test_topic_words_cover_inflections_and_wildcards(topic_vocabulary):
    words = topic_vocabulary["trump-putin-summit"]
    for word, language in (
        ("Путина", "ru"),
        ("Gipfeltreffen", "de"),
        ("встречи", "ru"),
        ("Anchorage", "en"),
        ("Anchorage", "de"),
        ("summits", "en"),
        ("Trump", None),
    ):
        assert words.rest(title_fingerprint(word, language)) == frozenset(), (word, language)
    assert words.rest(title_fingerprint("productive talks", "en")) == {"product"}
