"""Whether a compiled rule holds, given the term hits of one document.

Pure functions over the hits the engine's presearch found (term id → positions):
windows, aliases, item-wide and scoped vetoes, ``all``/``any`` groups and ``near``
spans with their own vetoes. :mod:`monitor.topics.engine` calls them for the topics
whose terms hit; :mod:`monitor.topics.explain` calls them to say why.

This module neither tokenizes nor searches text; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from monitor.topics.rules import Near, Rule, Topic

Hit = tuple[int, int, int]
"""(field index, first word, last word) of one hit."""
Hits = dict[int, set[Hit]]
"""Term id → its hits."""
Windows = tuple[tuple[date | None, date | None], ...]


def in_windows(windows: Windows, day: date | None) -> bool:
    """Whether ``day`` lies inside every window (no window: always)."""
    for start, end in windows:
        if day is None or (start is not None and day < start) or (end is not None and day > end):
            return False
    return True


def with_aliases(topic: Topic, hits: Hits, day: date | None) -> Hits:
    """``hits`` with each alias's hits counted for the term it stands for."""
    out: Hits | None = None
    for alias in topic.aliases:
        got = hits.get(alias.alias)
        if got and in_windows(alias.windows, day):
            if out is None:
                out = dict(hits)
            out[alias.term] = out.get(alias.term, set()) | got
    return hits if out is None else out


def distance(a: Hit, b: Hit) -> int | None:
    """Words between two hits of one field (0 when they touch or overlap); None across fields."""
    if a[0] != b[0]:
        return None
    return max(0, b[1] - a[2], a[1] - b[2])


def scoped_vetoes(rule: Rule, hits: Hits) -> list[tuple[int, Hit, int]]:
    """(veto term, where it hit, within) for every scoped veto of ``rule`` that hit."""
    return [
        (term_id, where, scoped.within)
        for scoped in rule.scoped
        for term_id in scoped.terms
        for where in hits.get(term_id, ())
    ]


def drop_vetoed(rule: Rule, hits: Hits) -> Hits:
    """``hits`` without the rule's positive hits that lie within a scoped veto's reach."""
    vetoes = scoped_vetoes(rule, hits)
    if not vetoes:
        return hits
    out = dict(hits)
    for term_id in rule.positive:
        got = hits.get(term_id)
        if not got:
            continue
        kept = {h for h in got if not _near_any(h, vetoes)}
        if not kept:
            del out[term_id]
        elif len(kept) != len(got):
            out[term_id] = kept
    return out


def _near_any(hit: Hit, vetoes: Iterable[tuple[int, Hit, int]]) -> bool:
    for _, where, within in vetoes:
        gap = distance(hit, where)
        if gap is not None and gap <= within:
            return True
    return False


def rule_hits(rule: Rule, hits: Hits, day: date | None) -> Hits | None:
    """The hits that count for ``rule`` when it matches; None when it does not."""
    # plain loops: this runs for every candidate topic, calls and generators cost here
    for start, end in rule.windows:
        if day is None or (start is not None and day < start) or (end is not None and day > end):
            return None
    for term_id in rule.none:
        if term_id in hits:
            return None
    if rule.scoped:
        hits = drop_vetoed(rule, hits)
    for group in rule.all:
        for term_id in group:
            if term_id in hits:
                break
        else:
            return None
    if rule.any:
        for term_id in rule.any:
            if term_id in hits:
                break
        else:
            return None
    for near in rule.near:
        if near_span(near, hits) is None:
            return None
    return hits


def near_span(near: Near, hits: Hits) -> tuple[int, int, int] | None:
    """(field, first word, last word) of a span where every term of ``near`` hits within
    ``near.within`` words and none of its vetoes stands inside; None when there is none."""
    events: list[tuple[int, int, int]] = []  # (field, word, which term)
    for which, group in enumerate(near.terms):
        for term_id in group:
            for field, first, _ in hits.get(term_id, ()):
                events.append((field, first, which))
    events.sort()
    need = len(near.terms)
    counts = [0] * need
    have = 0
    lo = 0
    for field, word, which in events:
        if counts[which] == 0:
            have += 1
        counts[which] += 1
        while events[lo][0] != field or word - events[lo][1] > near.within:
            counts[events[lo][2]] -= 1
            if counts[events[lo][2]] == 0:
                have -= 1
            lo += 1
        if have == need:
            if not near.none:
                return (field, events[lo][1], word)
            # the tightest span ending here: a veto-free wider one contains it
            while counts[events[lo][2]] > 1:
                counts[events[lo][2]] -= 1
                lo += 1
            if not _inside(near.none, hits, field, events[lo][1], word):
                return (field, events[lo][1], word)
    return None


def near_veto(near: Near, hits: Hits) -> tuple[int, Hit] | None:
    """A veto term of ``near`` and where it stood inside a span (for explanations)."""
    if not near.none:
        return None
    bare = Near(near.terms, near.within)
    span = near_span(bare, hits)
    if span is None:
        return None
    field, lo, hi = span
    for term_id in near.none:
        for where in hits.get(term_id, ()):
            if where[0] == field and lo <= where[1] <= hi:
                return term_id, where
    return None


def _inside(terms: tuple[int, ...], hits: Hits, field: int, lo: int, hi: int) -> bool:
    for term_id in terms:
        for where in hits.get(term_id, ()):
            if where[0] == field and lo <= where[1] <= hi:
                return True
    return False
