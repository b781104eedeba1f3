"""The matching engine: presearch every term at once, then evaluate the hit topics.

Every term of every topic is compiled once into Aho-Corasick automata
(:mod:`monitor.topics.presearch`). Which terms occur in which field costs a few set
operations a field whatever the number of topics (one-word terms are looked up by word,
phrases searched in the stretches of a field where one may stand); only the topics with
a hit of a term of a required group (the "presearch" of Lucene's Monitor) are
considered, and each first by those term sets alone (its language, fields, windows,
vetoes and groups): that settles most of them. Where a term hit (the words) is looked up only for
the terms of a topic that passed, whose rules (near spans, scoped vetoes) and evidence
need it. The evidence of a match is the first hit (title first) of each term of its
matched rules that hit; its score is the number of those terms, a term that hits the
title counting 2.

This module does no I/O; it reads :class:`~monitor.types.Document` and returns
:class:`~monitor.types.Match` values.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from monitor.errors import TermError
from monitor.topics.evaluate import Hit, Hits, Windows, in_windows, rule_hits, with_aliases
from monitor.topics.language import latin_languages, read_languages
from monitor.topics.presearch import Automata
from monitor.topics.rules import Rule, Term, TermTable, Topic, compile_topic
from monitor.topics.snippet import snippet
from monitor.topics.spec import TopicConfig
from monitor.topics.text import FieldText, LatinLang
from monitor.types import FIELDS, Document, Evidence, Match

if TYPE_CHECKING:
    from monitor.topics.explain import TopicTrace

_Read = tuple[list[FieldText | None], list[FieldText], frozenset[str], tuple[LatinLang, ...]]
"""A document's fields, the present ones, the languages a topic's filter may take it for
and how its Latin words stem."""
_NO_LANGUAGES: frozenset[str] = frozenset()  # a document without text: never read
_FIELD_WEIGHT = (2.0,) + (1.0,) * (len(FIELDS) - 1)
_MAX_EVIDENCE = 12


class TopicSet:
    """Compiled topics: build once with :func:`compile_topics`, then :meth:`match`."""

    def __init__(self, topics: Sequence[Topic], table: TermTable) -> None:
        self._topics = {t.id: t for t in topics}
        self.ids: tuple[str, ...] = tuple(t.id for t in topics)
        self._terms = table.terms
        self._list = tuple(topics)
        by_term: list[list[int]] = [[] for _ in table.terms]
        for index, topic in enumerate(topics):
            for term_id in _index_terms(topic):
                by_term[term_id].append(index)
        self._by_term = tuple(map(tuple, by_term))
        # every term a topic's evaluation reads: the hits to look up when it may match
        self._related = tuple(_related_terms(t) for t in topics)
        self._requirements = tuple(_requirements(t) for t in topics)
        self._alias_ids = tuple(frozenset(a.alias for a in t.aliases) for t in topics)
        # the date windows under which each positive term can count (one entry per rule,
        # () for a rule without one): a term of a closed event window cannot make a match
        live: dict[int, list[Windows]] = {}
        for topic in topics:
            for rule in topic.rules:
                for term_id in rule.positive:
                    live.setdefault(term_id, []).append(rule.windows)
            for alias in topic.aliases:
                live.setdefault(alias.alias, []).extend(live.get(alias.term, []))
        self._live = {k: tuple(v) for k, v in live.items()}
        # per topic, what the candidate loop reads: its languages, the fields it reads
        # (None: all), the requirements of its rules, its aliases' ids, the terms it reads
        self._candidate = tuple(
            (
                t.languages,
                None if len(t.fields) == len(FIELDS) else t.fields,
                self._requirements[n],
                self._alias_ids[n],
                self._related[n],
            )
            for n, t in enumerate(topics)
        )
        # a topic of one rule without a window, language, field or alias (most): its
        # vetoes and groups, checked inline by the candidate loop; None for the others.
        # Its smallest group is left out: it made the topic a candidate (its index terms,
        # :func:`_index_terms`), so one of its terms occurs wherever the loop reads it
        self._plain = tuple(
            (req[0][1], _but_smallest(req[0][2]))
            if len(req) == 1
            and not req[0][0]
            and t.languages is None
            and within is None
            and not aliases
            else None
            for t, (_, within, req, aliases, _) in zip(topics, self._candidate, strict=True)
        )
        self._aliases_of: list[dict[int, tuple[int, ...]]] = []
        for topic in topics:
            named: dict[int, list[int]] = {}
            for alias in topic.aliases:
                named.setdefault(alias.term, []).append(alias.alias)
            self._aliases_of.append({k: tuple(v) for k, v in named.items()})
        # a document that holds none of the terms that make a topic a candidate matches
        # none: most documents, told by their words alone
        self._indexed = frozenset(t for t, of in enumerate(self._by_term) if of)
        self._automata = Automata(table.terms, self._indexed)

    def name(self, topic_id: str) -> str:
        """The display name of a topic (its id when it has no name)."""
        return self._topics[topic_id].name

    def terms(self, topic_id: str) -> tuple[str, ...]:
        """The topic's positive terms as configured (``none`` terms left out)."""
        positive = self._topics[topic_id].positive
        return tuple(sorted(self._terms[t].text for t in positive))

    def windowed(self) -> tuple[str, ...]:
        """Ids of the topics with at least one rule limited to an event window: an
        undated document can never match those rules."""
        return tuple(t.id for t in self._list if any(r.windows for r in t.rules))

    def match(self, doc: Document, *, topics: Collection[str] | None = None) -> list[Match]:
        """The topics ``doc`` matches (in configuration order), each with its evidence."""
        return self._match(doc, self._read(doc), topics)

    def match_many(self, docs: Sequence[Document]) -> list[list[Match]]:
        """:meth:`match` of each of ``docs``: the same matches, found for less when the
        documents are many (the words none of them showed before are worked out together,
        not a field at a time)."""
        read = [self._read(doc) for doc in docs]
        learned = self._automata.learn(
            (fields, latin) for fields, present, _, latin in read if present
        )
        return [
            self._match(doc, got, None, learned=learned)
            for doc, got in zip(docs, read, strict=True)
        ]

    @staticmethod
    def _read(doc: Document) -> _Read:
        texts = [doc.title, doc.summary, doc.content, doc.article]
        fields = [FieldText.of(t) if t else None for t in texts]
        present = [f for f in fields if f is not None]
        if not present:
            return fields, present, _NO_LANGUAGES, ()
        latin, langs = read_languages(doc.language, present)
        return fields, present, langs, latin

    def _match(
        self,
        doc: Document,
        read: _Read,
        topics: Collection[str] | None,
        *,
        learned: bool = False,
    ) -> list[Match]:
        fields, present, langs, latin = read
        if not present:
            return []
        automata = self._automata
        searched = automata.search(fields, latin, learned=learned)
        if searched is None:
            return []
        notable, found = searched
        anywhere = set().union(*found)
        if not anywhere:
            return []
        # only the index terms make candidates (the others' entries are empty)
        candidates = set().union(*map(self._by_term.__getitem__, anywhere & self._indexed))
        if not candidates:
            return []
        day = _utc_date(doc.published)
        seen_in: dict[tuple[int, ...], set[int]] = {}
        listed, candidate, plain = self._list, self._candidate, self._plain
        passing: list[int] = []
        for index in candidates:
            simple = plain[index] if topics is None else None
            if simple is not None:
                # inline what :func:`_holds` does for one rule without a window
                none, groups = simple
                for group in groups:
                    if anywhere.isdisjoint(group):
                        break
                else:
                    if not none or anywhere.isdisjoint(none):
                        passing.append(index)
                continue
            languages, within, requirements, alias_ids, _ = candidate[index]
            if topics is not None and listed[index].id not in topics:
                continue
            if languages is not None and not (languages & langs):
                continue
            if within is None:
                seen = anywhere
            else:
                seen = seen_in.get(within)  # type: ignore[assignment]
                if seen is None:
                    seen = seen_in[within] = set().union(*(found[f] for f in within))
            if alias_ids:
                if not _may_match(listed[index], requirements, alias_ids, seen, day):
                    continue
            elif not _holds(requirements, seen, day):
                continue
            passing.append(index)
        if not passing:
            return []
        # the fields' words that hold a term, looked up once for all these topics' terms
        holding = automata.holding(fields, latin, notable)
        hits: Hits = {}
        out: list[Match] = []
        for index in sorted(passing):  # in configuration order
            related = candidate[index][4]
            for term_id in related:
                if term_id in anywhere and term_id not in hits:
                    hits[term_id] = automata.positions(
                        term_id, fields, found, latin, notable, holding
                    )
            matched = self._evaluate(index, hits, fields, langs, day)
            if matched is not None:
                out.append(matched)
        return out

    def hits_a_term(self, doc: Document) -> bool:
        """Whether a positive term (or alias) of some topic hits ``doc`` in a rule whose
        window admits it: the cheap test of whether reading the article's page could make
        it match."""
        fields = [FieldText.of(t) if t else None for t in (doc.title, doc.summary, doc.content)]
        present = [f for f in fields if f is not None]
        if not present:
            return False
        latin = latin_languages(doc.language, present)
        found = self._automata.terms_in(fields, latin)
        day = _utc_date(doc.published)
        live = self._live
        return any(
            in_windows(windows, day) for t in set().union(*found) for windows in live.get(t, ())
        )

    def explain(self, doc: Document) -> list[TopicTrace]:
        """Every topic's rules checked against ``doc``, with where each term hit."""
        from monitor.topics.explain import trace_topic  # only `monitor match --explain`

        fields = [
            FieldText.of(t) if t else None
            for t in (doc.title, doc.summary, doc.content, doc.article)
        ]
        present = [f for f in fields if f is not None]
        latin, langs = read_languages(doc.language, present)
        hits: Hits = {}
        if present:
            found = self._automata.terms_in(fields, latin)
            hits = {
                t: self._automata.positions(t, fields, found, latin) for t in set().union(*found)
            }
        day = _utc_date(doc.published)
        return [
            trace_topic(
                topic,
                hits,
                fields,
                self._terms,
                language_ok=topic.languages is None or bool(topic.languages & langs),
                day=day,
            )
            for topic in self._list
        ]

    def _evaluate(
        self,
        index: int,
        hits: Hits,
        fields: Sequence[FieldText | None],
        langs: frozenset[str],
        day: date | None,
    ) -> Match | None:
        topic = self._list[index]
        if topic.languages is not None and not (topic.languages & langs):
            return None
        seen = field_hits(topic, hits) if len(topic.fields) != len(FIELDS) else hits
        counted = with_aliases(topic, seen, day) if topic.aliases else seen
        matched: list[Rule] = []
        narrowed: list[Hits] = []  # only scoped vetoes narrow the hits a rule counts
        for rule in topic.rules:
            got = rule_hits(rule, counted, day)
            if got is not None:
                matched.append(rule)
                if got is not counted:
                    narrowed.append(got)
        if not matched:
            return None
        aliases_of = self._aliases_of[index]
        evidence: list[Evidence] = []
        score = 0.0
        for term_id in dict.fromkeys(t for r in matched for t in r.positive):
            term_hits = counted.get(term_id)
            # when a rule that counts every hit matched, evidence may come from any hit
            if narrowed and term_hits and len(narrowed) == len(matched):
                term_hits = set().union(*(got.get(term_id, ()) for got in narrowed))
            if not term_hits:
                continue
            score += max(_FIELD_WEIGHT[h[0]] for h in term_hits)
            if term_id not in aliases_of:
                evidence.extend(self._evidence(self._terms[term_id], term_hits, fields))
                continue
            # an alias's hit is shown under the alias ("US president"), not the name
            for source in (term_id, *aliases_of[term_id]):
                shown = seen.get(source, set()) & term_hits
                if shown:
                    evidence.extend(self._evidence(self._terms[source], shown, fields))
        # Several terms can name one place ("meet", "meets", "meeting" all hit "meet"):
        # it is one piece of evidence, under the phrase if one of them is, else the
        # shortest term (the one closest to the word).
        best: dict[tuple[str, int], Evidence] = {}
        for e in evidence:
            other = best.get((e.field, e.offset))
            if other is None or _evidence_rank(e) < _evidence_rank(other):
                best[(e.field, e.offset)] = e
        evidence = [e for e in evidence if best[(e.field, e.offset)] is e]
        return Match(topic=topic.id, score=score, evidence=tuple(evidence[:_MAX_EVIDENCE]))

    @staticmethod
    def _evidence(
        term: Term, term_hits: set[Hit], fields: Sequence[FieldText | None]
    ) -> list[Evidence]:
        # one hit a term, the earliest in field order (title first): enough to say why
        index, first, last = min(term_hits)
        field = fields[index]
        assert field is not None  # a hit comes from a present field
        start, end = field.span(first, last)
        text, _, _ = snippet(field.text, start, end)
        return [Evidence(term=term.text, field=FIELDS[index], offset=start, snippet=text)]


def _evidence_rank(e: Evidence) -> tuple[int, int]:
    return (-len(e.term.split()), len(e.term))


def compile_topics(topics: Sequence[TopicConfig], *, checked: bool = False) -> TopicSet:
    """Compile every topic once; :class:`~monitor.errors.TermError` on a bad one.

    ``checked``: every topic passed :func:`~monitor.topics.rules.check_topic` already
    (the loader's, ``Config.topics_checked``), so it is not run a second time."""
    table = TermTable()
    compiled: list[Topic] = []
    seen: set[str] = set()
    for config in topics:
        if config.id in seen:
            raise TermError(f"topic {config.id}: duplicate topic id")
        seen.add(config.id)
        compiled.append(compile_topic(config, table, checked=checked))
    return TopicSet(compiled, table)


def field_hits(topic: Topic, hits: Hits) -> Hits:
    """The hits in the fields the topic reads."""
    allowed = topic.fields
    if len(allowed) == len(FIELDS):
        return hits
    seen: Hits = {}
    for term_id, term_hits in hits.items():
        kept = {h for h in term_hits if h[0] in allowed}
        if kept:
            seen[term_id] = kept
    return seen


def _index_terms(topic: Topic) -> frozenset[int]:
    """The terms whose hit makes ``topic`` a candidate: per rule, the terms of its
    smallest group (one of which must occur for the rule to hold) and their aliases; all
    its positive terms for a rule without groups."""
    out: set[int] = set()
    for rule in topic.rules:
        groups: list[tuple[int, ...]] = [*rule.all, *((rule.any,) if rule.any else ())]
        groups.extend(group for near in rule.near for group in near.terms)
        smallest = min(groups, key=len) if groups else rule.positive
        out.update(smallest)
    out.update(a.alias for a in topic.aliases if a.term in out)
    return frozenset(out)


def _but_smallest(groups: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """``groups`` less the one :func:`_index_terms` takes a rule's index terms from (the
    first of the smallest)."""
    if not groups:
        return groups
    smallest = min(range(len(groups)), key=lambda n: len(groups[n]))
    return groups[:smallest] + groups[smallest + 1 :]


def _related_terms(topic: Topic) -> tuple[int, ...]:
    """Every term whose hits an evaluation of ``topic`` reads."""
    out: list[int] = []
    for rule in topic.rules:
        out.extend(t for group in rule.all for t in group)
        out.extend(rule.any)
        out.extend(rule.none)
        for near in rule.near:
            out.extend(t for group in near.terms for t in group)
            out.extend(near.none)
        for scoped in rule.scoped:
            out.extend(scoped.terms)
    for alias in topic.aliases:
        out.extend((alias.term, alias.alias))
    return tuple(dict.fromkeys(out))


_Requirement = tuple[Windows, tuple[int, ...], tuple[tuple[int, ...], ...]]


def _requirements(topic: Topic) -> tuple[_Requirement, ...]:
    """Per rule: its windows, its item-wide vetoes, and the groups of which one term
    each must occur (every ``all`` group, the ``any`` terms, every group of a ``near``)."""
    out = []
    for rule in topic.rules:
        groups = [*rule.all, *((rule.any,) if rule.any else ())]
        groups.extend(group for near in rule.near for group in near.terms)
        out.append((rule.windows, rule.none, tuple(groups)))
    return tuple(out)


def _may_match(
    topic: Topic,
    requirements: tuple[_Requirement, ...],
    alias_ids: frozenset[int],
    seen: set[int],
    day: date | None,
) -> bool:
    """Whether a rule of ``topic`` can hold, judged only by which terms occur in the
    fields it reads (``seen``): False only where :func:`rule_hits` holds for no rule.

    Exact for a rule without ``near`` or scoped vetoes (windows, item-wide vetoes, groups,
    aliases: all a matter of which terms occur); for the others a necessary condition,
    and the rule is then evaluated on where the terms hit. ``alias_ids``: the ids of the
    topic's aliases (a term they name counts where one of them hits).
    """
    counted = seen
    if not alias_ids.isdisjoint(seen):
        named = {a.term for a in topic.aliases if a.alias in seen and in_windows(a.windows, day)}
        if not named <= seen:
            counted = seen | named
    return _holds(requirements, counted, day)


def _holds(requirements: tuple[_Requirement, ...], counted: set[int], day: date | None) -> bool:
    """Whether a rule's requirements hold, given the terms that count (``counted``)."""
    for windows, none, groups in requirements:
        if windows and not in_windows(windows, day):
            continue
        if none and not counted.isdisjoint(none):
            continue
        for group in groups:
            if counted.isdisjoint(group):
                break
        else:
            return True
    return False


def _utc_date(published: datetime | None) -> date | None:
    if published is None:
        return None
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(UTC).date()
