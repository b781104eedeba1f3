"""Pure decisions about how a story is shown: its outlets in the order they carried it
(first reporter first), which stored article of a headline-joined feed belongs to it,
and which of its topic's rules fired.

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
    recorded it, else the feed's name), its first feed to carry the story, when (None
    when no article of it is stored any more), and whether it was the first."""

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
    ``sources`` recorded them, are one), by when its first feed carried it: the time the
    alert recorded for the feed (bounded when it was recorded:
    :func:`~monitor.types.carried_time`), else its stored article's date; feeds with
    neither follow in the order they joined. The first one is the first reporter, as the
    alert's ``first_reported_by`` names it. A surge or operator alert is about no story:
    no outlet."""
    if not alert.has_story:
        return []
    # what the alert recorded: when each feed carried the story; a stored article's own
    # date is not bounded by the feed's polls, so it does not overrule the alert
    recorded = {feed: as_utc(at) for feed, at in alert.outlets if at is not None}
    first_seen: dict[str, datetime] = dict(recorded)
    for article in articles:
        if article.feed in recorded:
            continue
        when = as_utc(article.carried_at)
        if article.feed not in first_seen or when < first_seen[article.feed]:
            first_seen[article.feed] = when
    # an alert of an older version, which recorded no times: its detection time for the
    # first feed, where its article is gone
    for feed, at in alert.outlet_times():
        if at is not None and feed not in first_seen:
            first_seen[feed] = as_utc(at)
    timed = sorted(first_seen.items(), key=lambda item: (item[1], item[0]))
    untimed = [f for f in dict.fromkeys(alert.feeds or (alert.feed,)) if f not in first_seen]
    ordered: list[tuple[str, datetime | None]] = [*timed, *((f, None) for f in untimed)]
    sources = dict(alert.sources)
    outlets: dict[str, Outlet] = {}
    for feed, at in ordered:
        source = sources.get(feed)
        name = source.outlet if source is not None else feed
        if name not in outlets:
            kind = source.kind if source is not None else None
            outlets[name] = Outlet(
                feed=feed, carried_at=at, first=not outlets, name=name, kind=kind
            )
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
