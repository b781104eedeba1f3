"""Pure decisions about how a story is shown: its outlets in the order they carried it
(the alert's first reporter first), which stored article of a headline-joined feed
belongs to it, and which of its topic's rules fired.

An outlet is what the alert recorded for its feeds (``source.outlet``), else the feed;
its time is when its first feed published the story (or first carried it, if
earlier). Data in, data out: no database, no clock, no formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.stories import same_story_fingerprints, story_similarity, title_fingerprint
from monitor.storage.console import OutletArticle
from monitor.topics.spec import RuleConfig, TopicConfig
from monitor.topics.text import fold, tokenize
from monitor.types import Alert, as_utc

__all__ = [
    "FiredRule",
    "Outlet",
    "describe_rule",
    "fired_rule",
    "rule_blocks",
    "story_articles",
    "story_outlets",
]


@dataclass(frozen=True, slots=True)
class Outlet:
    """One outlet of a story: its name (the feed's ``source.outlet`` as the alert
    recorded it, else the feed's name), its first feed to carry the story, when (the
    alert's time, else its stored article's; None when neither is known), and whether it
    is the first reporter (the alert's ``first_reported_by``)."""

    feed: str
    carried_at: datetime | None
    first: bool
    name: str = ""
    kind: str | None = None


def story_articles(
    alert: Alert, linked: Sequence[OutletArticle], candidates: Sequence[OutletArticle]
) -> list[OutletArticle]:
    """The linked articles plus, for each of the alert's feeds without one, its
    candidate whose headline is the same story as the alert's (the most alike)."""
    have = {a.feed for a in linked}
    wanted = title_fingerprint(alert.title, None)
    chosen: dict[str, tuple[float, OutletArticle]] = {}
    for cand in candidates:
        if cand.feed in have:
            continue
        other = title_fingerprint(cand.title, None)
        if not same_story_fingerprints(wanted, other):
            continue
        score = story_similarity(wanted, other)
        if cand.feed not in chosen or score > chosen[cand.feed][0]:
            chosen[cand.feed] = (score, cand)
    articles = [*linked, *(a for _, a in chosen.values())]
    return sorted(articles, key=lambda a: (a.carried_at, a.feed))


def story_outlets(alert: Alert, articles: Sequence[OutletArticle]) -> list[Outlet]:
    """Every outlet of the story once (several feeds of one outlet, as the alert's
    ``sources`` recorded them, are one). The outlets of the feeds that joined the story
    come first, as the alert orders them (:meth:`~monitor.types.Alert.sightings`, the
    ``outlets`` of its JSON), so the first is the alert's ``first_reported_by``; a time
    the alert does not know is its feed's stored article's date, shown but not ordered
    by (an alert of an older version recorded none). Then the feeds of stored articles
    that never joined the story (the same URL, not a match of its topic), by their
    articles' dates: never the first reporter. A surge or operator alert is about no
    story: no outlet."""
    if not alert.has_story:
        return []
    dated: dict[str, datetime] = {}
    for article in articles:
        when = as_utc(article.carried_at)
        if article.feed not in dated or when < dated[article.feed]:
            dated[article.feed] = when
    outlets: dict[str, Outlet] = {}
    for sighting in alert.sightings():
        name = sighting.source.outlet
        at = as_utc(sighting.at) if sighting.at is not None else dated.get(sighting.feed)
        outlets[name] = Outlet(
            feed=sighting.feed,
            carried_at=at,
            first=not outlets,
            name=name,
            kind=sighting.source.kind,
        )
    joined = {feed for feed, _ in alert.outlet_times()}
    others = sorted((at, feed) for feed, at in dated.items() if feed not in joined)
    for at, feed in others:
        if feed not in outlets:
            outlets[feed] = Outlet(feed=feed, carried_at=at, first=False, name=feed)
    return list(outlets.values())


@dataclass(frozen=True, slots=True)
class FiredRule:
    """The rule block that matched: its 1-based number among the topic's blocks."""

    number: int
    of: int
    rule: RuleConfig


def rule_blocks(topic: TopicConfig) -> list[RuleConfig]:
    if topic.rules:
        return list(topic.rules)
    return [RuleConfig(all=topic.all, any=topic.any, none=topic.none, near=topic.near)]


def _key(term: str) -> str:
    return " ".join(fold(w) for _, _, w in tokenize(term.rstrip("* ")))


def _alias_keys(topic: TopicConfig) -> dict[str, set[str]]:
    """Each aliased term's key → the keys of its aliases."""
    found: dict[str, set[str]] = {}
    for term, alias in topic.aliases.items():
        names = alias if isinstance(alias, list) else alias.terms
        found.setdefault(_key(term), set()).update(_key(n) for n in names)
    return found


def _hits_one(hit: set[str], terms: Sequence[str]) -> bool:
    return any(_key(t) in hit for t in terms)


def fired_rule(topic: TopicConfig, terms: Sequence[str]) -> FiredRule | None:
    """The first block of ``topic`` whose every ``all`` group, (when given) ``any``
    list and every term of each ``near`` has one of the evidence ``terms`` (an alias's
    hit counts as its term, as in matching); None when no block fits (the topic was
    edited since the alert). Vetoes and windows are not visible in evidence: a block
    they decided is not told apart from the next one that fits."""
    hit = {_key(t) for t in terms}
    for term, aliases in _alias_keys(topic).items():
        if aliases & hit:
            hit.add(term)
    blocks = rule_blocks(topic)
    for number, block in enumerate(blocks, start=1):
        if not (block.all or block.any or block.near):
            continue
        groups_ok = all(_hits_one(hit, group) for group in block.all)
        any_ok = not block.any or _hits_one(hit, block.any)
        near_ok = all(
            _hits_one(hit, [t] if isinstance(t, str) else t)
            for near in block.near
            for t in near.terms
        )
        if groups_ok and any_ok and near_ok:
            return FiredRule(number=number, of=len(blocks), rule=block)
    return None


def describe_rule(rule: RuleConfig) -> list[str]:
    """A rule block as lines for people: ``all of: A | B``, ``any of``, ``none of``."""
    lines = [f"all of: {' | '.join(group)}" for group in rule.all]
    if rule.any:
        lines.append(f"any of: {' | '.join(rule.any)}")
    for near in rule.near:
        words = [" | ".join(t) if isinstance(t, list) else t for t in near.terms]
        lines.append(f"near (within {near.within} words): {' ; '.join(words)}")
    if rule.none:
        vetoes = [
            v if isinstance(v, str) else f"({' | '.join(v.terms)} within {v.within} words)"
            for v in rule.none
        ]
        lines.append(f"none of: {' | '.join(vetoes)}")
    if rule.window is not None:
        lines.append(f"window: {rule.window.from_ or '…'} to {rule.window.to or '…'}")
    return lines
