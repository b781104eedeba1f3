"""The matching engine: presearch every term at once, then evaluate the hit topics.

Every term of every topic is compiled once into Aho-Corasick automata (pyahocorasick)
over the folded, space-joined words of a field (see :mod:`monitor.topics.text`):

* one automaton over the folded words, for wildcards (`` gipfel`` for ``Gipfel*``,
  ``rat `` for ``*rat``) and for plain words and phrases followed by an inflectional
  ending of the token's language (``путин`` + ``ым``);
* one automaton per Latin stemming language (en, de, none) over the stems, for plain
  words and phrases by stem equality (Cyrillic words are always stemmed as Russian).

A document costs one pass per automaton and field whatever the number of topics;
only the topics with a positive term hit (the "presearch" of Lucene's Monitor) are
then evaluated against their rules. The evidence of a match is the first hit (title
first) of each term of its matched rules that hit; its score is the number of those
terms, a term that hits the title counting 2.

This module does no I/O; it reads :class:`~monitor.types.Document` and returns
:class:`~monitor.types.Match` values.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import ahocorasick

from monitor.errors import TermError
from monitor.topics.evaluate import Hit, Hits, Windows, in_windows, rule_hits, with_aliases
from monitor.topics.explain import TopicTrace, trace_topic
from monitor.topics.rules import Rule, Term, TermTable, Topic, compile_topic
from monitor.topics.spec import TopicConfig
from monitor.topics.text import (
    ENDINGS,
    FieldText,
    LatinLang,
    document_languages,
    endings_for,
    latin_languages,
    snippet,
    stem,
)
from monitor.types import FIELDS, Document, Evidence, Match

_INFLECT, _PREFIX, _SUFFIX, _INFIX, _EXACT = range(5)
_STEM_LANGS: tuple[LatinLang, ...] = ("en", "de", None)
_FIELD_WEIGHT = (2.0,) + (1.0,) * (len(FIELDS) - 1)
_MAX_EVIDENCE = 12


class TopicSet:
    """Compiled topics: build once with :func:`compile_topics`, then :meth:`match`."""

    def __init__(self, topics: Sequence[Topic], table: TermTable) -> None:
        self._topics = {t.id: t for t in topics}
        self.ids: tuple[str, ...] = tuple(t.id for t in topics)
        self._terms = table.terms
        self._list = tuple(topics)
        by_term: dict[int, list[int]] = {}
        for index, topic in enumerate(topics):
            for term_id in topic.positive:
                by_term.setdefault(term_id, []).append(index)
        self._by_term = {k: tuple(v) for k, v in by_term.items()}
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
        self._aliases_of: list[dict[int, tuple[int, ...]]] = []
        for topic in topics:
            named: dict[int, list[int]] = {}
            for alias in topic.aliases:
                named.setdefault(alias.term, []).append(alias.alias)
            self._aliases_of.append({k: tuple(v) for k, v in named.items()})
        self._folded = _build(_folded_keys(table.terms))
        self._stemmed = {lang: _build(_stem_keys(table.terms, lang)) for lang in _STEM_LANGS}

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
        texts = [doc.title, doc.summary, doc.content, doc.article]
        fields = [FieldText.of(t) if t else None for t in texts]
        present = [f for f in fields if f is not None]
        if not present:
            return []
        latin = latin_languages(doc.language, present)
        hits = self._presearch(fields, latin)
        by_term = self._by_term
        candidates: set[int] = set()
        for term_id in hits:
            if term_id in by_term:
                candidates.update(by_term[term_id])
        if not candidates:
            return []
        langs = document_languages(doc.language, present)
        day = _utc_date(doc.published)
        out: list[Match] = []
        for index in sorted(candidates):
            topic = self._list[index]
            if topics is not None and topic.id not in topics:
                continue
            found = self._evaluate(index, hits, fields, langs, day)
            if found is not None:
                out.append(found)
        return out

    def hits_a_term(self, doc: Document) -> bool:
        """Whether a positive term (or alias) of some topic hits ``doc`` in a rule whose
        window admits it: the cheap test of whether reading the article's page could make
        it match."""
        fields = [FieldText.of(t) if t else None for t in (doc.title, doc.summary, doc.content)]
        present = [f for f in fields if f is not None]
        if not present:
            return False
        hits = self._presearch(fields, latin_languages(doc.language, present))
        day = _utc_date(doc.published)
        return any(in_windows(windows, day) for t in hits for windows in self._live.get(t, ()))

    def explain(self, doc: Document) -> list[TopicTrace]:
        """Every topic's rules checked against ``doc``, with where each term hit."""
        fields = [
            FieldText.of(t) if t else None
            for t in (doc.title, doc.summary, doc.content, doc.article)
        ]
        present = [f for f in fields if f is not None]
        hits = self._presearch(fields, latin_languages(doc.language, present)) if present else {}
        langs = document_languages(doc.language, present)
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

    def _presearch(self, fields: Sequence[FieldText | None], latin: Sequence[LatinLang]) -> Hits:
        # the hot loop: one automaton pass per field and stemming, little else per hit
        # (a key that begins at a word boundary finds its word by a dict lookup)
        hits: Hits = {}
        cyrillic_endings = ENDINGS["ru"]
        latin_endings = endings_for("a", latin)
        folded = self._folded
        for index, field in enumerate(fields):
            if field is None:
                continue
            if folded is not None:
                words = field.words
                joined = field.joined
                count = joined.count
                for end, (lead, span, length, entries, inflect) in folded.iter(joined):
                    # spaces before the key's first character: its word's index (+1 when
                    # the key begins inside the word rather than on the space before it)
                    first = count(" ", 0, end - length + 1) - (not lead)
                    last = first + span
                    if inflect:
                        word = words[last]
                        tail = word[inflect:]
                        ok = not tail or tail in (
                            cyrillic_endings if "\u0400" <= word[0] <= "\u04ff" else latin_endings
                        )
                    hit = (index, first, last)
                    for kind, term_id in entries:
                        if kind == _INFLECT and not ok:
                            continue
                        found = hits.get(term_id)
                        if found is None:
                            hits[term_id] = {hit}
                        else:
                            found.add(hit)
            for lang in latin:
                automaton = self._stemmed[lang]
                if automaton is None:
                    continue
                joined = field.stemmed(lang)
                count = joined.count
                for end, (_, span, length, entries, _) in automaton.iter(joined):
                    first = count(" ", 0, end - length + 1)
                    hit = (index, first, first + span)
                    for _, term_id in entries:
                        found = hits.get(term_id)
                        if found is None:
                            hits[term_id] = {hit}
                        else:
                            found.add(hit)
        return hits

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
        start, end = field.spans[first][0], field.spans[last][1]
        text, _, _ = snippet(field.text, start, end)
        return [Evidence(term=term.text, field=FIELDS[index], offset=start, snippet=text)]


def _evidence_rank(e: Evidence) -> tuple[int, int]:
    return (-len(e.term.split()), len(e.term))


def compile_topics(topics: Sequence[TopicConfig]) -> TopicSet:
    """Compile every topic once; :class:`~monitor.errors.TermError` on a bad one."""
    table = TermTable()
    compiled: list[Topic] = []
    seen: set[str] = set()
    for config in topics:
        if config.id in seen:
            raise TermError(f"topic {config.id}: duplicate topic id")
        seen.add(config.id)
        compiled.append(compile_topic(config, table))
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


def _folded_keys(terms: Sequence[Term]) -> dict[str, list[tuple[int, int, Term]]]:
    keys: dict[str, list[tuple[int, int, Term]]] = {}
    for term_id, term in enumerate(terms):
        body = " ".join(term.words)
        if term.exact:
            key, kind = " " + body + " ", _EXACT
        elif term.prefix and term.suffix:
            key, kind = body, _INFIX
        elif term.prefix:
            key, kind = " " + body, _PREFIX
        elif term.suffix:
            key, kind = body + " ", _SUFFIX
        else:
            key, kind = " " + body, _INFLECT
        keys.setdefault(key, []).append((kind, term_id, term))
    return keys


def _stem_keys(terms: Sequence[Term], lang: LatinLang) -> dict[str, list[tuple[int, int, Term]]]:
    keys: dict[str, list[tuple[int, int, Term]]] = {}
    for term_id, term in enumerate(terms):
        if term.plain:
            key = " " + " ".join(stem(w, lang) for w in term.words) + " "
            keys.setdefault(key, []).append((_INFLECT, term_id, term))
    return keys


def _build(keys: dict[str, list[tuple[int, int, Term]]]) -> Any:
    """An automaton whose values are (lead, words - 1, length, entries, inflect):

    lead: the key starts with a space (begins at a word boundary); entries: (kind, term
    id) of every term that compiles to the key; inflect: the length of the key's last
    word when one of them is inflected (the rest of the document's word must be an
    ending), else 0. None when there are no keys.
    """
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, entries in keys.items():
        term = entries[0][2]
        inflect = any(kind == _INFLECT for kind, _, _ in entries)
        value = (
            key.startswith(" "),
            len(term.words) - 1,
            len(key),
            tuple((kind, term_id) for kind, term_id, _ in entries),
            len(term.words[-1]) if inflect else 0,
        )
        automaton.add_word(key, value)
    automaton.make_automaton()
    return automaton


def _utc_date(published: datetime | None) -> date | None:
    if published is None:
        return None
    if published.tzinfo is None:
        return published.date()
    return published.astimezone(UTC).date()
