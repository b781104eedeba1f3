"""Which language a document is in: its tag, or detected from its words' script and
common words; how its Latin words are stemmed.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat

from monitor.topics.text import LANGUAGES, FieldText, LatinLang


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DE_WORDS = _words(
    "der die das und ist nicht mit den dem des von zu ein eine einen im auf fur sich "
    "auch als bei nach wird wurde sind hat haben uber aus oder werden noch wie zum zur "
    "dass vor beim"
)
_EN_WORDS = _words(
    "the and of to is in that with for on as was by at from are has have be it its "
    "this an will after over says said not who his her their"
)

assert not _DE_WORDS & _EN_WORDS  # detect_language counts them apart
_FUNCTION_WORDS = dict.fromkeys(_EN_WORDS, 1) | dict.fromkeys(_DE_WORDS, -1)
"""A function word's weight for :func:`detect_language`: +1 English, -1 German (one pass
over a field's words weighs both)."""
_DIGITS = b"0123456789"
_CYRILLIC_WORD = re.compile(r" ([\u0400-\u04ff][^ ]*)")  # a word of FieldText.joined


def latin_languages(language: str | None, fields: Sequence[FieldText]) -> tuple[LatinLang, ...]:
    """How to stem Latin tokens: the document's language, detected when not given."""
    return _latin_of(primary_language(language) or detect_language(fields))


def read_languages(
    language: str | None, fields: Sequence[FieldText]
) -> tuple[tuple[LatinLang, ...], frozenset[str]]:
    """What :func:`latin_languages` and :func:`document_languages` say of a document,
    its language detected at most once (not once for each, nor again when it could not
    be told)."""
    lang = primary_language(language) or detect_language(fields)
    return _latin_of(lang), frozenset({lang}) if lang else _ALL_LANGUAGES


def _latin_of(lang: str | None) -> tuple[LatinLang, ...]:
    """How to stem Latin tokens in a document whose primary language is ``lang`` (given
    or detected; None: unknown)."""
    if lang == "ru":
        return ("en",)  # Latin words in Russian copy are mostly English names
    if lang in ("en", "de"):
        return (lang,)
    if lang is not None:
        return (None,)
    return ("en", "de")


def primary_language(language: str | None) -> str | None:
    """The primary subtag: en-US → en; None or an empty string → None."""
    if not language:
        return None
    if language in _primary:
        return _primary[language]
    if len(_primary) > 1000:  # a few tags in practice; a hostile stream cannot grow it
        _primary.clear()
    found = _primary[language] = _SUBTAG.split(language.strip().lower(), maxsplit=1)[0] or None
    return found


_SUBTAG = re.compile(r"[-_]")
_primary: dict[str, str | None] = {}


def detect_language(fields: Sequence[FieldText]) -> str | None:
    """en, de or ru from the script and common words; None when it cannot tell."""
    # Counted with C-level passes, no loop over the words: Cyrillic words (by their first
    # letter), other all-letter words, and the function words (all Latin letters, and no
    # word is one of both languages').
    cyrillic = latin = english = 0  # english: English function words less German ones
    for f in fields:
        words = f.words
        text = f.text
        if text.isascii():  # no Cyrillic word: neither joined nor scanned for one
            # a word is all letters unless it holds a digit: without one in the text
            # (most), every word counts, and none need be looked at
            raw = text.encode("ascii")
            if len(raw.translate(None, _DIGITS)) == len(raw):
                latin += len(words)
            else:
                latin += sum(map(str.isalpha, words))
        else:
            cyrillic_words = _CYRILLIC_WORD.findall(f.joined)
            cyrillic += len(cyrillic_words)
            latin += sum(map(str.isalpha, words)) - sum(map(str.isalpha, cyrillic_words))
        english += sum(map(_FUNCTION_WORDS.get, words, repeat(0)))
    if cyrillic > latin:
        return "ru"
    if english < 0:
        return "de"
    if english > 0:
        return "en"
    return None


def document_languages(language: str | None, fields: Sequence[FieldText]) -> frozenset[str]:
    """The languages a document may be in, for a topic's ``languages:`` filter."""
    lang = primary_language(language) or detect_language(fields)
    return frozenset({lang}) if lang else _ALL_LANGUAGES


_ALL_LANGUAGES = frozenset(LANGUAGES)
