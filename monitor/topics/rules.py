"""Topic YAML (:class:`~monitor.topics.spec.TopicConfig`) → checked, compiled rules.

A term is a word, a phrase, ``word*`` (any word starting with ``word``), ``*word``
(any word ending with it: German compounds such as ``*rat``), ``*word*``, or an exact
``"word or phrase"`` in double quotes (case and diacritics still folded, but neither
stemmed nor inflected: ``"Putin"`` does not hit "Putins"). A topic
matches when one of its rules does; its top-level ``all``/``any``/``near`` form one
rule, each ``rules:`` block another. A topic's ``none``, ``window``, ``fields`` and
``languages`` apply to every one of its rules; a block's own ``none`` and ``window``
only to that block. A ``none`` item may be scoped (``{terms, within}``: it drops the
rule's hits within that many words of it) and a ``near`` may carry its own ``none``
(terms that may not stand inside the near span). ``aliases`` map a term to other names
that count as it (optionally inside a window).

This module checks and numbers terms; it does not look at documents
(:mod:`monitor.topics.engine` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from monitor.errors import TermError
from monitor.topics.spec import (
    AliasConfig,
    NearConfig,
    RuleConfig,
    ScopedNoneConfig,
    TopicConfig,
    Veto,
    WindowConfig,
)
from monitor.topics.text import fold_words
from monitor.types import FIELDS

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

_MIN_WILDCARD = 3


@dataclass(frozen=True, slots=True)
class Term:
    """A parsed term: its folded words and where its wildcards are."""

    text: str
    """As configured (what evidence shows)."""
    words: tuple[str, ...]
    prefix: bool = False
    """``word*``: the last word may go on."""
    suffix: bool = False
    """``*word``: the first word may begin earlier."""
    exact: bool = False
    """``"word"``: the words as written (folded), no stem, no inflection."""

    @property
    def plain(self) -> bool:
        return not (self.prefix or self.suffix or self.exact)


def parse_term(text: object) -> Term:
    """A term from its configured text; :class:`TermError` says what is wrong with it."""
    if not isinstance(text, str):
        raise TermError(f"term {text!r} is not text")
    body = text.strip()
    if not body:
        raise TermError("empty term")
    if len(body) >= 2 and body[0] == body[-1] == '"':
        core = body[1:-1]
        if "*" in core or '"' in core:
            raise TermError(f"term {text!r}: an exact term takes no '*' or inner '\"'")
        words = tuple(fold_words(core))
        if not words:
            raise TermError(f"term {text!r} has no letters")
        return Term(text=text, words=words, exact=True)
    if '"' in body:
        raise TermError(f"term {text!r}: quote the whole term for an exact one")
    suffix = body.startswith("*")
    prefix = body.endswith("*")
    core = body.strip("*")
    if "*" in core:
        raise TermError(f"term {text!r}: '*' may only start or end a term")
    words = tuple(fold_words(core))
    if not words:
        raise TermError(f"term {text!r} has no letters")
    if prefix and len(words[-1]) < _MIN_WILDCARD:
        raise TermError(f"term {text!r}: a wildcard needs {_MIN_WILDCARD} letters beside it")
    if suffix and len(words[0]) < _MIN_WILDCARD:
        raise TermError(f"term {text!r}: a wildcard needs {_MIN_WILDCARD} letters beside it")
    return Term(text=text, words=words, prefix=prefix, suffix=suffix)


@dataclass(frozen=True, slots=True)
class Near:
    """Every term within ``within`` words of each other, in one field."""

    terms: tuple[tuple[int, ...], ...]
    """Each item a group of alternative terms."""
    within: int
    none: tuple[int, ...] = ()
    """Terms that may not stand inside the span of the near hit."""


@dataclass(frozen=True, slots=True)
class Scoped:
    """A veto near a hit: positive hits within ``within`` words of a term do not count."""

    terms: tuple[int, ...]
    within: int


@dataclass(frozen=True, slots=True)
class Alias:
    """Hits of ``alias`` count as hits of ``term`` (inside every window)."""

    term: int
    alias: int
    windows: tuple[tuple[date | None, date | None], ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One way a topic matches; terms are ids into the :class:`TermTable`."""

    all: tuple[tuple[int, ...], ...]
    any: tuple[int, ...]
    none: tuple[int, ...]
    near: tuple[Near, ...]
    windows: tuple[tuple[date | None, date | None], ...]
    """Every window must contain the document's publication date."""
    scoped: tuple[Scoped, ...] = ()

    @property
    def positive(self) -> tuple[int, ...]:
        """Terms whose hits count for the rule (evidence), in configured order."""
        out = [t for group in self.all for t in group]
        out.extend(self.any)
        out.extend(t for n in self.near for group in n.terms for t in group)
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Topic:
    """A compiled topic."""

    id: str
    name: str
    rules: tuple[Rule, ...]
    fields: tuple[int, ...]
    """Indices into :data:`monitor.types.FIELDS` that count."""
    languages: frozenset[str] | None
    aliases: tuple[Alias, ...] = ()

    @property
    def positive(self) -> frozenset[int]:
        """Terms whose hits make the topic a candidate (aliases included)."""
        own = {t for r in self.rules for t in r.positive}
        return frozenset(own | {a.alias for a in self.aliases if a.term in own})


class TermTable:
    """Every distinct term of every topic, numbered once."""

    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._ids: dict[str, int] = {}

    def add(self, text: str) -> int:
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self.terms)
            self.terms.append(parse_term(text))
        return found


def check_topic(topic: TopicConfig) -> list[Problem]:
    """Every problem in one topic, as (path in the topic's YAML mapping, message)."""
    problems: list[Problem] = []
    _check_vetoes(topic.none, ("none",), problems)
    has_positive = _check_block(topic, (), problems)
    for r, rule in enumerate(topic.rules):
        _check_vetoes(rule.none, ("rules", r, "none"), problems)
        if not _check_block(rule, ("rules", r), problems):
            problems.append((("rules", r), "rule has no terms (give all, any or near)"))
        _check_window(rule.window, ("rules", r, "window"), problems)
    if not has_positive and not topic.rules:
        problems.append(((), "topic has no terms (give all, any, near or rules)"))
    _check_window(topic.window, ("window",), problems)
    for i, name in enumerate(topic.fields or ()):
        if name not in FIELDS:
            problems.append((("fields", i), f"unknown field {name!r} (one of {', '.join(FIELDS)})"))
    if topic.fields is not None and not topic.fields:
        problems.append((("fields",), "empty list of fields"))
    if topic.languages is not None and not topic.languages:
        problems.append((("languages",), "empty list of languages"))
    _check_aliases(topic, problems)
    return problems


def _check_vetoes(vetoes: Sequence[Veto], path: Path, problems: list[Problem]) -> None:
    for i, veto in enumerate(vetoes):
        if isinstance(veto, ScopedNoneConfig):
            _check_terms(veto.terms, (*path, i, "terms"), problems)
        else:
            _check_terms([veto], path, problems, start=i)


def _positive_texts(block: TopicConfig | RuleConfig) -> set[str]:
    out = {t for group in block.all for t in group} | set(block.any)
    for near in block.near:
        for item in near.terms:
            out.update([item] if isinstance(item, str) else item)
    return out


def _check_aliases(topic: TopicConfig, problems: list[Problem]) -> None:
    own = _positive_texts(topic).union(*(_positive_texts(r) for r in topic.rules))
    for name, alias in topic.aliases.items():
        where: Path = ("aliases", name)
        if name not in own:
            problems.append((where, f"alias for {name!r}, which is not a term of this topic"))
        terms = alias.terms if isinstance(alias, AliasConfig) else alias
        if not terms:
            problems.append((where, "empty list of aliases"))
        _check_terms(
            terms, (*where, "terms") if isinstance(alias, AliasConfig) else where, problems
        )
        if isinstance(alias, AliasConfig):
            _check_window(alias.window, (*where, "window"), problems)


def _check_block(block: TopicConfig | RuleConfig, path: Path, problems: list[Problem]) -> bool:
    """Checks all/any/near of a topic or rule block; whether it has any positive term."""
    for g, group in enumerate(block.all):
        if not group:
            problems.append(((*path, "all", g), "empty group"))
        _check_terms(group, (*path, "all", g), problems)
    _check_terms(block.any, (*path, "any"), problems)
    for n, near in enumerate(block.near):
        for i, item in enumerate(near.terms):
            where = (*path, "near", n, "terms", i)
            if isinstance(item, str):
                _check_terms([item], where[:-1], problems, start=i)
            elif not item:
                problems.append((where, "empty group"))
            else:
                _check_terms(item, where, problems)
        _check_terms(near.none, (*path, "near", n, "none"), problems)
    return bool(block.all or block.any or block.near)


def _check_terms(
    terms: Sequence[str], path: Path, problems: list[Problem], *, start: int = 0
) -> None:
    for i, text in enumerate(terms, start=start):
        try:
            parse_term(text)
        except TermError as exc:
            problems.append(((*path, i), str(exc)))


def _check_window(window: WindowConfig | None, path: Path, problems: list[Problem]) -> None:
    if window is None:
        return
    if window.from_ is None and window.to is None:
        problems.append((path, "window needs 'from' or 'to'"))
    elif window.from_ is not None and window.to is not None and window.from_ > window.to:
        problems.append((path, "window 'from' is after 'to'"))


def compile_topic(topic: TopicConfig, table: TermTable, *, checked: bool = False) -> Topic:
    """One topic compiled against ``table``; :class:`TermError` names the first problem
    (found by :func:`check_topic`, unless the topic was ``checked`` already)."""
    problems = [] if checked else check_topic(topic)
    if problems:
        path, message = problems[0]
        where = ".".join(str(p) for p in path)
        raise TermError(f"topic {topic.id}{': ' + where if where else ''}: {message}")
    none = topic.none
    windows = _windows(topic.window)
    rules: list[Rule] = []
    if topic.all or topic.any or topic.near:
        rules.append(
            _rule(
                all_=topic.all,
                any_=topic.any,
                none=(),
                near=topic.near,
                topic_none=none,
                windows=windows,
                table=table,
            )
        )
    for block in topic.rules:
        rules.append(
            _rule(
                all_=block.all,
                any_=block.any,
                none=block.none,
                near=block.near,
                topic_none=none,
                windows=windows + _windows(block.window),
                table=table,
            )
        )
    fields = (
        tuple(FIELDS.index(f) for f in topic.fields) if topic.fields else tuple(range(len(FIELDS)))
    )
    languages = frozenset(lang.lower() for lang in topic.languages) if topic.languages else None
    aliases: list[Alias] = []
    for name, alias in topic.aliases.items():
        terms, when = (
            (alias.terms, _windows(alias.window)) if isinstance(alias, AliasConfig) else (alias, ())
        )
        aliases.extend(Alias(table.add(name), table.add(t), when) for t in terms)
    return Topic(
        id=topic.id,
        name=topic.display_name,
        rules=tuple(rules),
        fields=fields,
        languages=languages,
        aliases=tuple(aliases),
    )


def _near_group(item: str | Sequence[str], table: TermTable) -> tuple[int, ...]:
    return (table.add(item),) if isinstance(item, str) else tuple(table.add(t) for t in item)


def _windows(window: WindowConfig | None) -> tuple[tuple[date | None, date | None], ...]:
    return ((window.from_, window.to),) if window is not None else ()


def _rule(
    *,
    all_: Sequence[Sequence[str]],
    any_: Sequence[str],
    none: Sequence[Veto],
    near: Sequence[NearConfig],
    topic_none: Sequence[Veto],
    windows: tuple[tuple[date | None, date | None], ...],
    table: TermTable,
) -> Rule:
    vetoes = [*topic_none, *none]
    return Rule(
        all=tuple(tuple(table.add(t) for t in group) for group in all_),
        any=tuple(table.add(t) for t in any_),
        none=tuple(table.add(v) for v in vetoes if isinstance(v, str)),
        near=tuple(
            Near(
                tuple(_near_group(item, table) for item in n.terms),
                n.within,
                tuple(table.add(t) for t in n.none),
            )
            for n in near
        ),
        windows=windows,
        scoped=tuple(
            Scoped(tuple(table.add(t) for t in v.terms), v.within)
            for v in vetoes
            if isinstance(v, ScopedNoneConfig)
        ),
    )
