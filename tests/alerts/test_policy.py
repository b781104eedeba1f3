"""The alert decision for a match: new story, joins a story, too old, catch-up (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.alerts.policy import (
    AlertPolicy,
    KnownStory,
    StoryFacts,
    StoryOutcome,
    alert_id,
    decide_match,
    matched_article,
)
from monitor.alerts.stories import title_key, topic_words
from monitor.types import Article, Evidence, Match

NOW = datetime(2026, 8, 15, 18, 0, tzinfo=UTC)
MATCH = Match("summit", 1.0, (Evidence("Putin", "title", 0, "Putin lands"),))
POLICY = AlertPolicy(
    topic_names={"summit": "Trump–Putin summit"},
    topic_words={"summit": topic_words(["Trump", "Putin", "summit", "Alaska"])},
)


def article(title: str, url: str = "https://a.example/1", **kw: object) -> Article:
    return Article(
        feed=str(kw.pop("feed", "tass-en")),
        article_key="k",
        content_hash="h",
        url=url,
        title=title,
        language="en",
        published=kw.pop("published", NOW),  # type: ignore[arg-type]
    )


def known(title: str, id_: str = "alert-1") -> KnownStory:
    return KnownStory(id=id_, title=title, title_key=title_key(article(title)), feeds=("ap",))


def test_a_story_not_alerted_yet_raises_an_alert_with_the_topic_name():
    item = matched_article(article("Putin lands in Alaska for summit with Trump"), (MATCH,))

    decision = decide_match(POLICY, item, MATCH, StoryFacts(), NOW)

    assert decision.outcome is StoryOutcome.NEW_STORY
    assert decision.alert is not None
    assert decision.alert.id == alert_id("summit", "https://a.example/1")
    assert decision.alert.topic_name == "Trump–Putin summit"
    assert decision.title_key == "putin land alaska summit trump"


def test_the_same_url_joins_the_story_already_alerted():
    item = matched_article(article("Anything at all"), (MATCH,))
    story = known("Putin lands in Alaska", "by-url")

    decision = decide_match(POLICY, item, MATCH, StoryFacts(same_url=story), NOW)

    assert decision.outcome is StoryOutcome.JOINS_STORY and decision.joined == story


def test_a_near_identical_title_at_another_url_joins_the_newest_such_story():
    item = matched_article(
        article("Putin Lands In Alaska For Summit With Trump Amid Protests - Reuters"), (MATCH,)
    )
    recent = (
        known("Trump says summit was productive", "other-story"),
        known("Putin lands in Alaska for summit with Trump amid protests", "same-story"),
    )

    decision = decide_match(POLICY, item, MATCH, StoryFacts(recent=recent), NOW)

    assert decision.outcome is StoryOutcome.JOINS_STORY
    assert decision.joined is not None and decision.joined.id == "same-story"


def test_an_article_without_a_fingerprint_is_fingerprinted_not_compared_raw():
    """Replay's defect: a raw title where a fingerprint belongs linked nothing."""
    from monitor.types import MatchedArticle

    raw = MatchedArticle(article("PUTIN LANDS IN ALASKA FOR SUMMIT WITH TRUMP"), (MATCH,))
    recent = (known("Putin lands in Alaska for summit with Trump"),)

    decision = decide_match(POLICY, raw, MATCH, StoryFacts(recent=recent), NOW)

    assert decision.outcome is StoryOutcome.JOINS_STORY


def test_old_articles_and_catch_up_raise_nothing():
    stale = matched_article(article("Putin lands", published=NOW - timedelta(days=3)), (MATCH,))
    fresh = matched_article(article("Putin lands"), (MATCH,))

    old = decide_match(POLICY, stale, MATCH, StoryFacts(), NOW)
    quiet = decide_match(AlertPolicy(raise_alerts=False), fresh, MATCH, StoryFacts(), NOW)

    assert (old.outcome, old.alert) == (StoryOutcome.TOO_OLD, None)
    assert (quiet.outcome, quiet.alert) == (StoryOutcome.CATCH_UP, None)
