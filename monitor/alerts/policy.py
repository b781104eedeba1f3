"""Whether a match becomes an alert: ONE pure decision for the poll path and replay.

:func:`decide_match` takes a topic's match on an article, what the database already
holds of that topic's stories (:class:`StoryFacts`, read by storage inside the
transaction that will store the answer) and ``now``, and returns a
:class:`StoryDecision`: a new story (with the :class:`~monitor.types.Alert` to raise),
joins story N (the same canonical URL, or a near-identical title within the story
window, judged by :mod:`monitor.alerts.stories`; or a headline in another language that
names the same people, places and numbers, judged by :mod:`monitor.alerts.crosslang`),
too old (``max_age``), or silent because the poll catches up. Storage stores what it
decided; nothing here reads a clock, a database or a network, and nothing is passed into
storage as a callback.

It does not find the candidate stories (storage does, per topic, in the article's
language and in the others, newest first) nor deliver anything (the outbox does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from monitor.types import Alert, Article, Match, MatchedArticle, Source, carried_time

if TYPE_CHECKING:
    # The judges of a story (title fingerprints, names across languages) are imported
    # where they judge: a poll of unchanged feeds decides no match and loads neither.
    from monitor.alerts.crosslang import EntityTable
    from monitor.alerts.stories import TopicWords
    from monitor.signals.rules import ConfirmRule, HotRule, SurgeRule

STORY_KEY_MAX = 200
"""The width of ``alerts.story_key``; PostgreSQL refuses anything longer."""
STORY_WINDOW = timedelta(hours=48)
"""How far back a near-identical title joins a story already alerted."""
MAX_CANDIDATES = 500
"""Recent stories compared per match (storage reads at most this many)."""


class StoryOutcome(StrEnum):
    """What became of one match (the counts of the ``feed_polled`` line)."""

    NEW_STORY = "new_story"
    """A story not alerted yet: an alert is raised (or held, see ``confirm:``)."""
    JOINS_STORY = "linked"
    """The story is alerted already (same URL, near-identical title, or the same names in
    another language): its feed is added."""
    TOO_OLD = "old"
    """Published before ``max_age``: stored and matched, no alert."""
    CATCH_UP = "catch_up"
    """`monitor poll --catch-up` or replay without ``--alert``: no alert."""
    HELD = "unconfirmed"
    """A new story of a topic with ``confirm:``: stored, alerted once enough outlets
    carried it (:mod:`monitor.signals.rules`)."""
    CONFIRMS = "confirms"
    """Joined a story and confirmed it: its held alert, or a ``confirmation``, is raised."""


@dataclass(frozen=True, slots=True)
class KnownStory:
    """An alert already stored for a topic, as far as the decision needs it."""

    id: str
    title: str = ""
    title_key: str = ""
    """The title's fingerprint; empty for rows stored before fingerprints existed."""
    feeds: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """What storage found of the match's topic before deciding."""

    same_url: KnownStory | None = None
    """The alert of this topic with the same story key (canonical URL), if any."""
    recent: tuple[KnownStory, ...] = ()
    """Alerts of this topic in the article's language within the story window,
    newest first (at most :data:`MAX_CANDIDATES`)."""
    other_languages: tuple[KnownStory, ...] = ()
    """Alerts of this topic in other languages within the story window, newest first."""


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How matches become alerts, and where alerts go: plain data, no callbacks."""

    channels: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """(channel name, topics it wants or None for all), besides the alert log."""
    max_age: timedelta = timedelta(days=2)
    topic_names: Mapping[str, str] = field(default_factory=dict)
    story_window: timedelta = STORY_WINDOW
    topic_words: Mapping[str, TopicWords] = field(default_factory=dict)
    """Each topic's own words: shared by all its titles, they make no two one story."""
    raise_alerts: bool = True
    """False for `monitor poll --catch-up` (and replay without --alert): alert nothing."""
    sources: Mapping[str, Source] = field(default_factory=dict)
    """feed → its outlet (``feeds[].source``); a feed not named is its own outlet."""
    confirm: Mapping[str, ConfirmRule] = field(default_factory=dict)
    """topic → when its stories count as confirmed (``confirm:``, ``notify_confirmation``)."""
    surge: Mapping[str, SurgeRule] = field(default_factory=dict)
    hot: Mapping[str, HotRule] = field(default_factory=dict)
    entity_tables: Mapping[str, EntityTable] = field(default_factory=dict)
    """topic → its names across languages; a topic without one never joins a story
    told in another language."""

    def source_of(self, feed: str) -> Source:
        return self.sources.get(feed) or Source(outlet=feed)


@dataclass(frozen=True, slots=True)
class StoryDecision:
    """The policy's answer for one match; storage writes exactly this."""

    outcome: StoryOutcome
    story_key: str
    title_key: str
    joined: KnownStory | None = None
    """The story joined (:attr:`StoryOutcome.JOINS_STORY`)."""
    alert: Alert | None = None
    """The alert to raise (:attr:`StoryOutcome.NEW_STORY`)."""


def alert_id(topic: str, story_key: str) -> str:
    """Deterministic, so two workers racing on one story agree on the id."""
    return hashlib.sha256(f"{topic}\n{story_key}".encode()).hexdigest()[:32]


def story_key(article: Article) -> str:
    """The article's canonical URL (or its feed and identity key when it has none);
    a longer one than the column takes is replaced by its digest."""
    key = article.url or f"{article.feed}:{article.article_key}"
    if len(key) <= STORY_KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def matched_article(article: Article, matches: tuple[Match, ...]) -> MatchedArticle:
    """An article with its matches and its title fingerprint: poll and replay alike."""
    from monitor.alerts.stories import title_key

    return MatchedArticle(article=article, matches=matches, title_key=title_key(article))


def _fingerprint_of(story: KnownStory, language: str | None) -> str:
    from monitor.alerts.stories import title_fingerprint

    return story.title_key or title_fingerprint(story.title, language)


def similar_story(
    fingerprint: str,
    candidates: tuple[KnownStory, ...],
    language: str | None,
    words: TopicWords | None,
) -> KnownStory | None:
    """The newest candidate that tells the same story as ``fingerprint``, or None."""
    from monitor.alerts.stories import same_story_fingerprints

    for cand in candidates:
        if same_story_fingerprints(fingerprint, _fingerprint_of(cand, language), words):
            return cand
    return None


def story_in_other_language(
    article: Article, candidates: tuple[KnownStory, ...], policy: AlertPolicy, topic: str
) -> KnownStory | None:
    """The newest candidate in another language that names the same story, or None."""
    table = policy.entity_tables.get(topic)
    if table is None or not article.language or not candidates:
        return None
    from monitor.alerts.crosslang import story_across_languages

    others = [c for c in candidates if c.language and c.language != article.language]
    found = story_across_languages(
        article.title, article.language, ((c.title, c.language) for c in others), table
    )
    return None if found is None else others[found]


def decide_match(
    policy: AlertPolicy,
    item: MatchedArticle,
    match: Match,
    facts: StoryFacts,
    now: datetime,
    *,
    since: datetime | None = None,
) -> StoryDecision:
    """New story, joins a story, too old, or catch-up: for one match of one article.
    ``since``: the feed's last successful poll before this one (the outlet's time is not
    before it: :func:`~monitor.types.carried_time`)."""
    from monitor.alerts.stories import title_key

    article = item.article
    key = story_key(article)
    fingerprint = item.title_key or title_key(article)
    joined = (
        facts.same_url
        or similar_story(
            fingerprint, facts.recent, article.language, policy.topic_words.get(match.topic)
        )
        or story_in_other_language(article, facts.other_languages, policy, match.topic)
    )
    if joined is not None:
        return StoryDecision(StoryOutcome.JOINS_STORY, key, fingerprint, joined=joined)
    if not policy.raise_alerts:
        return StoryDecision(StoryOutcome.CATCH_UP, key, fingerprint)
    if article.published is not None and article.published < now - policy.max_age:
        return StoryDecision(StoryOutcome.TOO_OLD, key, fingerprint)
    alert = Alert(
        id=alert_id(match.topic, key),
        topic=match.topic,
        topic_name=policy.topic_names.get(match.topic, match.topic),
        title=article.title,
        url=article.url or article.link,
        feed=article.feed,
        published=article.published,
        detected_at=now,
        evidence=match.evidence,
        feeds=(article.feed,),
        summary=article.summary[:500],
        sources=((article.feed, policy.source_of(article.feed)),),
        outlets=((article.feed, carried_time(article.published, now, since)),),
    )
    return StoryDecision(StoryOutcome.NEW_STORY, key, fingerprint, alert=alert)
