"""Story identity across languages: whether two headlines in different languages of one
topic tell the same story (pure).

A headline becomes a :class:`HeadlineKey`: a language-neutral set of entity keys and the
numbers it states. An entity key is either an entry of an :class:`EntityTable` (a topic's
aliases, ``Trump: [US president, президент США]``, and a small built-in table of names
that transliteration cannot join: ``USA``/``США``, ``White House``/``Белый дом``,
``Moscow``/``Москва``/``Moskau``), or, for any other content word, its consonant skeleton
after stemming and transliteration (Путина → путин → ``ptn``, Selenskyj and Зеленского →
``slnsk``). Numbers are digits and the number words two to ten.

:func:`compare_headlines` is the decision, with its outcome as an enum. The bar is high,
because a wrong merge loses an alert while a missed one only repeats it: the two keys must
share :data:`MIN_SHARED` entities of which :data:`MIN_BEYOND_TOPIC` are not the topic's own
words (every headline of the summit topic names Trump, Putin and Alaska), state no
conflicting numbers, and agree on negation and on "cancelled/postponed". Chosen on the
shared streams (tests/benchmarks/crosslang_pairs.py).

It does not find candidates, check the window or the topic (the policy and storage do),
and it does not translate: two headlines that share no names are two stories to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from monitor.alerts.stories import story_markers, title_fingerprint
from monitor.topics.spec import RuleConfig, TopicConfig

MIN_SHARED = 3
"""Entities two headlines must share (topic words included)."""
MIN_BEYOND_TOPIC = 1
"""Of those, how many must not be the topic's own words."""
SUBJECT_GROUP = 16
"""A topic's group of more alternatives than this is context, not the topic's subject."""
MIN_SKELETON = 3
"""Shorter consonant skeletons (``rn`` of Iran, ``us``) say too little; tables name those."""
MIN_PREFIX = 4
"""A skeleton that begins another counts as the same entity from this length (Kreml, Kremlin)."""
_LANGUAGES = (None, "en", "de", "ru")

# Names that transliteration and stemming cannot join, in the three languages the
# default topics speak. Each row is one entity; the first name is its label.
BUILTIN_ENTITIES: tuple[tuple[str, ...], ...] = (
    ("USA", "U S", "United States", "America", "США", "Соединенные Штаты", "Америка",
     "Vereinigte Staaten", "Amerika"),
    ("Russia", "Russland", "Россия", "РФ"),
    ("White House", "Weißes Haus", "Белый дом"),
    ("Kremlin", "Kreml", "Кремль"),
    ("Moscow", "Moskau", "Москва"),
    ("Kyiv", "Kiev", "Kiew", "Киев"),
    ("Anchorage", "Анкоридж"),
    ("Europe", "Europa", "Европа"),
    ("EU", "European Union", "Europäische Union", "ЕС", "Евросоюз"),
    ("NATO", "Nato", "НАТО"),
    ("UN", "United Nations", "Vereinte Nationen", "ООН", "UNO"),
    ("Germany", "Deutschland", "Германия"),
    ("Britain", "UK", "Großbritannien", "Великобритания", "Британия"),
    ("China", "Китай"),
)  # fmt: skip
NUMBER_WORDS: Mapping[str, tuple[str, ...]] = {
    "2": ("two", "zwei", "два", "две"),
    "3": ("three", "drei", "три"),
    "4": ("four", "vier", "четыре"),
    "5": ("five", "fünf", "пять"),
    "6": ("six", "sechs", "шесть"),
    "7": ("seven", "sieben", "семь"),
    "8": ("eight", "acht", "восемь"),
    "9": ("nine", "neun", "девять"),
    "10": ("ten", "zehn", "десять"),
}

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),  # noqa: SIM905
        strict=True,
    )
)
_DIGITS = re.compile(r"\d+")
# Spellings that sound alike, one form each; vowels (and y, j as a glide) are dropped after.
_SOUNDS = (
    ("shch", "sh"), ("tsch", "ch"), ("sch", "sh"), ("dzh", "j"), ("zh", "j"), ("kh", "h"),
    ("ch", "č"), ("ph", "f"), ("ck", "k"), ("ts", "s"), ("tz", "s"), ("w", "v"), ("c", "k"),
    ("q", "k"), ("x", "ks"), ("z", "s"), ("ß", "s"),
)  # fmt: skip
_SENTENCES = re.compile(r"[.:!?;«»\"“”„]\s*|\s[-–—]\s")
_WORDS = re.compile(r"[^\W\d_][\w'’-]*")
_VOWELS = re.compile(r"[aeiouyäöü_]")
_DOUBLES = re.compile(r"(.)\1+")


class CrossLanguage(StrEnum):
    """What :func:`compare_headlines` found of two headlines."""

    SAME_STORY = "same_story"
    SAME_LANGUAGE = "same_language"
    """Not this module's question (:mod:`monitor.alerts.stories` compares those)."""
    TOO_FEW_ENTITIES = "too_few_entities"
    ONLY_TOPIC_WORDS = "only_topic_words"
    """They share only what every headline of the topic says."""
    NUMBERS_DIFFER = "numbers_differ"
    MARKERS_DIFFER = "markers_differ"
    """One is negated or says cancelled/postponed, the other does not."""


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: keys are cached per table
class EntityTable:
    """Names that are one entity across languages, and the topic's own entity keys."""

    phrases: Mapping[tuple[str, ...], str]
    """A name as fingerprint words (in some language) → its entity key."""
    topic: frozenset[str] = frozenset()
    """The keys of the topic's terms: shared by every headline of the topic."""
    longest: int = 1

    @property
    def names(self) -> frozenset[str]:
        """Keys that are names wherever they stand: the table's and the topic's."""
        return frozenset(self.phrases.values()) | self.topic


@dataclass(frozen=True, slots=True)
class HeadlineKey:
    """A headline in language-neutral form."""

    language: str
    entities: frozenset[str]
    numbers: frozenset[str]
    capitalized: frozenset[str] = frozenset()
    """Keys of the words written with a capital inside a sentence: names in Russian
    (and in sentence-case English), every noun in German and in Title Case."""
    negated: bool = False
    changed: bool = False


def transliterate(word: str) -> str:
    """Cyrillic letters to Latin ones (a plain scheme: the skeleton forgives the rest)."""
    if word.startswith("уи"):  # Уиткофф, Уильям: the English W
        word = "в" + word[1:]
    return "".join(_CYRILLIC.get(ch, ch) for ch in word)


@lru_cache(maxsize=65536)
def skeleton(word: str, language: str | None) -> str:
    """A stemmed word's consonants, spelled one way: Putin/путин → ptn, Selenskyj → slnsk."""
    text = transliterate(word)
    if language == "de":
        text = text.replace("j", "y")
    for spelling, sound in _SOUNDS:
        text = text.replace(spelling, sound)
    return _DOUBLES.sub(r"\1", _VOWELS.sub("", text))


def _fingerprints(name: str) -> set[tuple[str, ...]]:
    return {tuple(title_fingerprint(name, lang).split()) for lang in _LANGUAGES} - {()}


def entity_table(
    terms: Iterable[str] = (),
    aliases: Mapping[str, Iterable[str]] | None = None,
    builtin: Iterable[tuple[str, ...]] = BUILTIN_ENTITIES,
) -> EntityTable:
    """The table of a topic: its aliases (each alias is its term), the built-in names,
    and the keys of its ``terms`` as the topic's own words."""
    phrases: dict[tuple[str, ...], str] = {}
    rows = [(label, *names) for label, names in (aliases or {}).items()] + list(builtin)
    for row in rows:
        label = skeleton(row[0].casefold(), None)
        if len(label) < MIN_SKELETON:
            label = "@" + row[0].casefold()
        for name in row:
            for words in _fingerprints(name.strip("*")):
                phrases.setdefault(words, label)
    table = EntityTable(phrases, frozenset(), max((len(p) for p in phrases), default=1))
    own: set[str] = set()
    for term in terms:
        for lang in _LANGUAGES:
            own |= _keys(title_fingerprint(term.strip("*"), lang).split(), lang, table)
    return EntityTable(phrases, frozenset(own), table.longest)


def topic_table(topic: TopicConfig) -> EntityTable:
    """The :class:`EntityTable` of a configured topic: its aliases, and as its own words
    the terms of its ``all`` groups and ``near`` items of at most :data:`SUBJECT_GROUP`
    alternatives (Trump, Putin, summit, Alaska). A longer group lists context, names that
    tell one story of the topic from another (Zelensky, White House, Ukraine)."""
    own: set[str] = set()
    rules: list[TopicConfig | RuleConfig] = [topic, *topic.rules]
    for rule in rules:
        groups: list[list[str]] = list(rule.all)
        for near in rule.near:
            groups += [[item] if isinstance(item, str) else item for item in near.terms]
        for group in groups:
            if len(group) <= SUBJECT_GROUP:
                own.update(group)
    aliases = {k: v if isinstance(v, list) else v.terms for k, v in topic.aliases.items()}
    return entity_table(own, aliases)


def _keys(words: list[str], language: str | None, table: EntityTable) -> set[str]:
    keys: set[str] = set()
    i = 0
    while i < len(words):
        for size in range(min(table.longest, len(words) - i), 0, -1):
            label = table.phrases.get(tuple(words[i : i + size]))
            if label is not None:
                keys.add(label)
                i += size
                break
        else:
            word = words[i]
            i += 1
            if not _DIGITS.fullmatch(word) and word not in _number_words():
                key = skeleton(word, language)
                if len(key) >= MIN_SKELETON:
                    keys.add(key)
    return keys


@lru_cache(maxsize=8)
def _number_words() -> Mapping[str, str]:
    return {
        form: number
        for number, words in NUMBER_WORDS.items()
        for word in words
        for lang in _LANGUAGES
        for form in title_fingerprint(word, lang).split()
    }


def headline_key(title: str, language: str | None, table: EntityTable) -> HeadlineKey:
    """The language-neutral key of ``title`` (an outlet suffix dropped, words stemmed)."""
    lang = (language or "").lower().split("-")[0]
    # "US" in capitals is the country, "us" the pronoun: tell them apart before folding.
    title = re.sub(r"\bU\.?S\.?(?=\W|$)", "USA", title)
    fingerprint = title_fingerprint(title, lang)
    words = fingerprint.split()
    numbers = {n for w in words for n in _DIGITS.findall(w)}
    number_words = _number_words()
    numbers |= {number_words[w] for w in words if w in number_words}
    negated, changed = story_markers(fingerprint)
    return HeadlineKey(
        language=lang,
        entities=frozenset(_keys(words, lang, table)),
        numbers=frozenset(numbers),
        capitalized=_capitalized(title, lang, table),
        negated=negated,
        changed=changed,
    )


def _capitalized(title: str, language: str, table: EntityTable) -> frozenset[str]:
    keys: set[str] = set()
    for sentence in _SENTENCES.split(title):
        for word in _WORDS.findall(sentence)[1:]:  # a sentence's first word says nothing
            if word[0].isupper():
                keys |= _keys(title_fingerprint(word, language).split(), language, table)
    return frozenset(keys)


def _same_entity(a: str, b: str) -> bool:
    if a == b:
        return True
    if a.startswith("@") or b.startswith("@"):
        return False  # a short name of the table (EU, NATO) is only itself
    short, long_ = sorted((a, b), key=len)
    if len(short) >= MIN_SKELETON and long_ == short + "v":
        return True  # Лаврова → лавр: the Russian stemmer takes a surname's -ов/-ев
    return len(short) >= MIN_PREFIX and long_.startswith(short)


def shared_entities(a: HeadlineKey, b: HeadlineKey, table: EntityTable) -> frozenset[str]:
    """The names ``a`` and ``b`` share (a skeleton beginning another counts): entries of
    the table and the topic's words, and words both write with a capital."""
    names = table.names
    shared: set[str] = set()
    for x in a.entities:
        for y in b.entities:
            if _same_entity(x, y) and (
                x in names or (_in(x, a.capitalized) and _in(y, b.capitalized))
            ):
                shared.add(x)
    return frozenset(shared)


def _in(key: str, keys: frozenset[str]) -> bool:
    return any(_same_entity(key, k) for k in keys)


def compare_headlines(a: HeadlineKey, b: HeadlineKey, table: EntityTable) -> CrossLanguage:
    """Whether two headlines in different languages (of one topic) are one story."""
    if a.language == b.language:
        return CrossLanguage.SAME_LANGUAGE
    if a.negated != b.negated or a.changed != b.changed:
        return CrossLanguage.MARKERS_DIFFER
    if a.numbers and b.numbers and a.numbers.isdisjoint(b.numbers):
        return CrossLanguage.NUMBERS_DIFFER
    shared = shared_entities(a, b, table)
    if len(shared) < MIN_SHARED:
        return CrossLanguage.TOO_FEW_ENTITIES
    if len(shared - table.topic) < MIN_BEYOND_TOPIC:
        return CrossLanguage.ONLY_TOPIC_WORDS
    return CrossLanguage.SAME_STORY


def story_across_languages(
    title: str,
    language: str | None,
    candidates: Iterable[tuple[str, str | None]],
    table: EntityTable,
) -> int | None:
    """The index of the first candidate ``(title, language)`` in another language that
    tells the same story as ``title``, or None."""
    key = headline_key(title, language, table)
    for index, (other, other_language) in enumerate(candidates):
        if compare_headlines(key, _cached_key(other, other_language, table), table) is (
            CrossLanguage.SAME_STORY
        ):
            return index
    return None


@lru_cache(maxsize=4096)
def _cached_key(title: str, language: str | None, table: EntityTable) -> HeadlineKey:
    return headline_key(title, language, table)
