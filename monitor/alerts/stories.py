"""Whether two titles tell the same story (the same wire story from two outlets).

Pure: titles in, a fingerprint or a verdict out. A fingerprint is the title reduced to
its content words (case, accents, punctuation, an aggregator's " - Outlet" suffix and
function words dropped; words stemmed in en/de/ru) as one space-separated string:
cheap to store per article and to compare later. Finding the candidates (recent
alerts of the same topic and language), the 48-hour window and the same canonical
URL are :mod:`monitor.alerts.policy`'s job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import Stemmer

if TYPE_CHECKING:
    from monitor.types import Article

THRESHOLD = 88.0
"""Minimum :func:`story_similarity` of the same story. Chosen on the shared streams
(tests/benchmarks/story_thresholds.py): pairs at 80–88 are mostly the same story in a
general stream, but within one topic, where every title shares the topic's words, that
band also holds different stories of one subject (a summit's preview and its outcome,
85); a wrong merge loses an alert, a missed one only repeats it, so the bar is high."""
MIN_WORDS = 3
"""Titles with fewer content words are only the same story when they are equal."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words only: negations stay ("no deal" and "deal" are different stories).
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "a an the and or but of to in on at for from by with as is are was were be been "
        "it its this that these those after before over into about amid says said say "
        "will would can could may might has have had his her their he she they we you i "
        "up out s"
    ),
    "de": _words(
        "der die das den dem des ein eine einen einem einer eines und oder aber von zu "
        "zum zur im in am an auf für mit nach bei aus über vor um ist sind war wird "
        "werden hat haben sich er sie es wir als auch wie dass so"
    ),
    "ru": _words(
        "и в во на с со к ко по о об от до за из у для что как а но или же ли бы "
        "это этот эта эти его ее их он она они мы вы я при после перед под над "
        "также уже еще был была были будет"
    ),
}
_STEMMERS = {"en": "english", "de": "german", "ru": "russian"}
# "ends with a deal" / "ends with no deal" differ in one word but tell opposite stories.
_NEGATION_WORDS = sorted(_words("no not never without nicht kein keine nie ohne не нет ни без"))
_NEGATIONS = frozenset(_NEGATION_WORDS).union(
    *(Stemmer.Stemmer(algorithm).stemWords(_NEGATION_WORDS) for algorithm in _STEMMERS.values())
)
# A summit "cancelled", "verschoben", "отменен" is news of its own, however alike the rest.
_CHANGE_WORDS = sorted(
    _words(
        "cancel cancels cancelled canceled cancellation postpone postpones postponed delay "
        "delayed scrap scrapped collapse collapses collapsed suspend suspended "
        "abgesagt absage absagen verschoben verschiebt verschieben geplatzt gescheitert "
        "ausgesetzt отменен отменена отменено отменены отмена отложен отложена отложено "
        "отложены перенесен перенесена перенесено перенесены сорван сорвана сорвано"
    )
)
_CHANGES = frozenset(_CHANGE_WORDS).union(
    *(Stemmer.Stemmer(algorithm).stemWords(_CHANGE_WORDS) for algorithm in _STEMMERS.values())
)
_NOT = re.compile(r"(\w+)n['’]t\b")
_CONTRACTIONS = {"wo": "will", "ca": "can", "sha": "shall"}
_SUFFIX = re.compile(r"\s+[-|]\s+([^-|]{1,60})$")
_WORD = re.compile(r"\w+")
_MARKS = re.compile(r"[\u0300-\u036f]")


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer | None:
    algorithm = _STEMMERS.get(language)
    return Stemmer.Stemmer(algorithm) if algorithm else None


def _base_language(language: str | None) -> str:
    return (language or "").lower().replace("_", "-").split("-")[0]


def _is_outlet(name: str) -> bool:
    """ "Reuters", "The New York Times", "politico.eu": capitalized, short, or a domain."""
    words = name.split()
    return 0 < len(words) <= 4 and all(w[0].isupper() or w[0].isdigit() or "." in w for w in words)


def _strip_outlet(title: str) -> str:
    """Drop an aggregator's " - Outlet" / " | Outlet" suffix (Google News adds one)."""
    suffix = _SUFFIX.search(title)
    if suffix and suffix.start() > 0 and _is_outlet(suffix.group(1)):
        return title[: suffix.start()]
    return title


def title_fingerprint(title: str, language: str | None) -> str:
    """The content words of ``title``, normalized and stemmed, space-separated.

    Store it per article; compare two with :func:`same_story_fingerprints`.
    """
    text = unicodedata.normalize("NFKC", title).strip()
    text = _strip_outlet(_strip_outlet(text))
    lang = _base_language(language)
    stop = _STOPWORDS.get(lang, frozenset())
    text = text.casefold().replace("ё", "е").replace("_", " ")
    text = _NOT.sub(lambda m: _CONTRACTIONS.get(m.group(1), m.group(1)) + " not", text)
    words = [w for w in _WORD.findall(text) if w not in stop]
    stemmer = _stemmer(lang)
    if stemmer is not None:
        words = stemmer.stemWords(words)
    # Accents go after stemming (the stemmers know umlauts); "Gípfel" equals "Gipfel".
    words = [_MARKS.sub("", unicodedata.normalize("NFD", w)) for w in words]
    return " ".join(words)


def title_key(article: Article) -> str:
    """The fingerprint stored with an article's alert (and compared with later titles)."""
    return title_fingerprint(article.title, article.language)


@dataclass(frozen=True, slots=True)
class TopicWords:
    """A topic's own words in fingerprint form: every title of the topic shares them,
    so they say nothing about whether two of its titles are one story."""

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and (
            word in self.words or word.startswith(self.prefixes) or word.endswith(self.suffixes)
        )

    def rest(self, fingerprint: str) -> frozenset[str]:
        """The words of ``fingerprint`` that are not the topic's."""
        return frozenset(w for w in fingerprint.split() if w not in self)


def topic_words(terms: Iterable[str]) -> TopicWords:
    """:class:`TopicWords` of a topic's terms as configured (``Putin``, ``Gipfel*``,
    ``*rat``, ``NATO summit``), in every language the fingerprints know."""
    words: set[str] = set()
    prefixes: set[str] = set()
    suffixes: set[str] = set()
    for term in terms:
        parts = term.split()
        for i, part in enumerate(parts):
            prefix = i == len(parts) - 1 and part.endswith("*")
            suffix = i == 0 and part.startswith("*")
            bare = part.strip("*")
            forms = {title_fingerprint(bare, lang) for lang in (None, *_STEMMERS)}
            for form in forms:
                for word in form.split():
                    if prefix:  # ``word*``, and ``*word*`` where it begins a word
                        prefixes.add(word)
                    elif suffix:
                        suffixes.add(word)
                    else:
                        words.add(word)
    return TopicWords(frozenset(words), tuple(sorted(prefixes)), tuple(sorted(suffixes)))


def story_similarity(a: str, b: str) -> float:
    """0–100: how alike two fingerprints are (token-sort ratio of the word sets)."""
    # Imported here (~10 ms): a poll that brings no new article never compares titles.
    from rapidfuzz import fuzz

    return float(fuzz.token_sort_ratio(a, b))


def story_markers(fingerprint: str) -> tuple[bool, bool]:
    """Whether a fingerprint is negated ("no deal") and says cancelled/postponed: two
    titles that differ in these tell different stories, however alike the rest."""
    words = fingerprint.split()
    return not _NEGATIONS.isdisjoint(words), not _CHANGES.isdisjoint(words)


def same_story_fingerprints(a: str, b: str, topic: TopicWords | None = None) -> bool:
    """Whether two fingerprints (of titles in the same language) are one story.

    With the ``topic`` both titles matched, the words besides the topic's decide too:
    two titles of one topic that share nothing else ("Trump and Putin to hold summit in
    Anchorage", "Putin says Anchorage summit with Trump was productive") are two stories,
    however alike the topic's words make them look.
    """
    if not a or not b:
        return False
    if a == b:
        return True
    words_a, words_b = a.split(), b.split()
    if min(len(words_a), len(words_b)) < MIN_WORDS:
        return False
    if _NEGATIONS.isdisjoint(words_a) != _NEGATIONS.isdisjoint(words_b):
        return False
    if _CHANGES.isdisjoint(words_a) != _CHANGES.isdisjoint(words_b):
        return False
    if topic is not None:
        rest_a, rest_b = topic.rest(a), topic.rest(b)
        if rest_a and rest_b and rest_a.isdisjoint(rest_b):
            return False
    return story_similarity(a, b) >= THRESHOLD


def same_story(
    a_title: str, b_title: str, language: str | None, topic: TopicWords | None = None
) -> bool:
    """Whether two titles in ``language`` are near-duplicates: the same story."""
    return same_story_fingerprints(
        title_fingerprint(a_title, language), title_fingerprint(b_title, language), topic
    )
