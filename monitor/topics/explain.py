"""Why a document matches a topic or not, rule by rule: what `monitor match --explain` prints.

For every topic and every one of its rules: whether its window admits the document,
which ``all`` groups and ``any`` terms hit and where, whether each ``near`` found a
span (or which veto stood inside it), which item-wide veto fired, which hits a scoped
veto dropped, and which aliases counted. An analyst tunes a topic with it.

Pure: it reads the hits the engine found (:mod:`monitor.topics.engine`) and the
compiled rules; it neither searches text nor prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from monitor.topics.evaluate import (
    Hit,
    Hits,
    distance,
    drop_vetoed,
    in_windows,
    near_span,
    near_veto,
    rule_hits,
    scoped_vetoes,
    with_aliases,
)
from monitor.topics.rules import Rule, Term, Topic
from monitor.topics.snippet import snippet
from monitor.topics.text import FieldText
from monitor.types import FIELDS


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a rule: what it is, whether it holds, and the evidence."""

    what: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RuleTrace:
    index: int
    matched: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class TopicTrace:
    topic: str
    matched: bool
    note: str
    """Why no rule was evaluated ("no term of the topic hit"), or the aliases that counted."""
    rules: tuple[RuleTrace, ...]


class _Where:
    def __init__(self, terms: Sequence[Term], fields: Sequence[FieldText | None]) -> None:
        self.terms = terms
        self.fields = fields

    def hit(self, hit: Hit) -> str:
        index, first, last = hit
        field = self.fields[index]
        if field is None:
            return FIELDS[index]
        start, end = field.span(first, last)
        text, lo, hi = snippet(field.text, start, end, width=30)
        return f"{FIELDS[index]}@{start} {text[:lo]}[{text[lo:hi]}]{text[hi:]}"

    def term(self, term_id: int, hits: Hits) -> str:
        return f"{self.terms[term_id].text!r} at {self.hit(min(hits[term_id]))}"

    def hits(self, term_ids: Sequence[int], hits: Hits) -> list[str]:
        return [self.term(t, hits) for t in dict.fromkeys(term_ids) if t in hits]


def trace_topic(
    topic: Topic,
    hits: Hits,
    fields: Sequence[FieldText | None],
    terms: Sequence[Term],
    *,
    language_ok: bool,
    day: date | None,
) -> TopicTrace:
    """Every rule of ``topic`` checked against ``hits``, with where each term hit."""
    if not language_ok:
        return TopicTrace(topic.id, False, "the document's language is not one of the topic's", ())
    seen = {t: {h for h in got if h[0] in topic.fields} for t, got in hits.items()}
    seen = {t: got for t, got in seen.items() if got}
    if not any(t in seen for t in topic.positive):
        return TopicTrace(topic.id, False, "no term of the topic hit", ())
    where = _Where(terms, fields)
    counted = with_aliases(topic, seen, day)
    aliases = [
        f"{terms[a.alias].text!r} counts as {terms[a.term].text!r} "
        f"at {where.hit(min(seen[a.alias]))}"
        for a in topic.aliases
        if a.alias in seen and in_windows(a.windows, day)
    ]
    traces = tuple(_trace_rule(i, rule, counted, day, where) for i, rule in enumerate(topic.rules))
    matched = any(r.matched for r in traces)
    note = "aliases: " + "; ".join(aliases) if aliases else ""
    return TopicTrace(topic.id, matched, note, traces)


def _trace_rule(index: int, rule: Rule, hits: Hits, day: date | None, where: _Where) -> RuleTrace:
    checks: list[Check] = []
    for start, end in rule.windows:
        ok = in_windows(((start, end),), day)
        dates = f"{start or '…'} to {end or '…'}"
        checks.append(Check("window", ok, f"{dates}; published {day or 'unknown'}"))
    for term_id in rule.none:
        if term_id in hits:
            checks.append(Check("none", False, "vetoed by " + where.term(term_id, hits)))
    for veto_id, veto_hit, within in scoped_vetoes(rule, hits):
        dropped = [
            f"{where.terms[t].text!r}"
            for t in rule.positive
            for h in hits.get(t, ())
            if (gap := distance(h, veto_hit)) is not None and gap <= within
        ]
        detail = f"{where.terms[veto_id].text!r} at {where.hit(veto_hit)} within {within} words"
        detail += " drops " + (", ".join(dict.fromkeys(dropped)) if dropped else "no hit")
        checks.append(Check("scoped none", not dropped, detail))
    kept = drop_vetoed(rule, hits) if rule.scoped else hits
    for g, group in enumerate(rule.all):
        found = where.hits(group, kept)
        shown = (
            "; ".join(found)
            if found
            else "none of " + ", ".join(where.terms[t].text for t in group[:8])
        )
        checks.append(Check(f"all[{g}]", bool(found), shown))
    if rule.any:
        found = where.hits(rule.any, kept)
        shown = (
            "; ".join(found)
            if found
            else "none of " + ", ".join(where.terms[t].text for t in rule.any[:8])
        )
        checks.append(Check("any", bool(found), shown))
    for n, near in enumerate(rule.near):
        span = near_span(near, kept)
        if span is not None:
            field, lo, hi = span
            detail = f"within {near.within} words: {where.hit((field, lo, hi))}"
            checks.append(Check(f"near[{n}]", True, detail))
            continue
        veto = near_veto(near, kept)
        if veto is not None:
            term_id, at = veto
            detail = f"vetoed by {where.terms[term_id].text!r} inside the span at {where.hit(at)}"
        else:
            missing = [
                "/".join(where.terms[t].text for t in group[:3])
                for group in near.terms
                if not any(t in kept for t in group)
            ]
            detail = (
                "missing " + ", ".join(missing)
                if missing
                else f"every term hit, but not within {near.within} words in one field"
            )
        checks.append(Check(f"near[{n}]", False, detail))
    matched = rule_hits(rule, hits, day) is not None
    return RuleTrace(index, matched, tuple(checks))
