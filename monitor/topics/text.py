"""Text normalization shared by topic terms and documents: tokens, folding, stems.

A text becomes a list of tokens (runs of letters and digits, with their character
spans in the original text). Each token is *folded* (Unicode NFKC, look-alike
letters of another script mixed into a word replaced by its own script's, case folding,
diacritics removed, ё = е, soft hyphens and zero-width characters dropped, German
ä/ö/ü/ß equal to ae/oe/ue/ss) and *stemmed* by the Snowball stemmer (PyStemmer) of its
language: Cyrillic tokens by the Russian one, Latin tokens by English or German.
Hyphens, dashes, quotes and apostrophes separate tokens, so "Alaska-Gipfel" is the
two tokens ``alaska gipfel`` (a term ``Gipfel`` and a term ``Alaska-Gipfel`` both hit).

Tokens are joined with single spaces into one string per field (" a b c "), which is
what the Aho-Corasick automata of :mod:`monitor.topics.engine` run over.

This module knows nothing about topics or rules; it does no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from itertools import islice
from typing import cast

import Stemmer

from monitor.topics.confusables import skeleton

LANGUAGES: tuple[str, ...] = ("en", "de", "ru")
"""Languages with a stemmer and inflection endings."""

LatinLang = str | None
"""How Latin-script tokens are stemmed: "en", "de", or None (not stemmed)."""

# A token starts with a letter or digit and may carry combining marks, soft hyphens
# and zero-width characters inside it (they are dropped by folding, not split on).
# Written as runs of letters between runs of marks: the same tokens as the plain
# "letter, then letters or marks" alternation, at half the cost.
TOKEN = re.compile(r"[^\W_]+(?:[\u0300-\u036f\u00ad\u200b-\u200d\u2060\ufeff]+[^\W_]*)*")
_RUN = re.compile(rb"[^ ]+")  # a word in a field's layout
_LETTER = b"a"
_MARK_TABLE = bytes(0x20 if v == 0x20 else _LETTER[0] for v in range(256))
_WORD_START = b" " + _LETTER
_SPLIT_WORDS = 400  # words to split off a layout at most to find where the next begins
_SPAN = re.Match.span
_GROUP = re.Match.group
_DROP = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_SHORT_I = "\ue000"  # keeps й whole while other combining marks are stripped
_CACHE_LIMIT = 20_000
"""Entries each cache of folds and stems holds at most (~2 MiB of everyday words; 500,000
held 40-60 MiB each in a process that matched for long, the daemon's parser workers):
all forgotten when full. Matching a field seldom asks them (it is folded whole, its
words' terms are remembered by :mod:`monitor.topics.word_terms`), so a smaller bound
costs nothing measurable, at 10,000 topics (~75,000 folds to compile) as over the
streams (~30,000 English words)."""
_CACHED_WORD = 64
"""Longest token or word whose folding and stems are remembered: a token can be as long as
a field (a hex digest, a base64 run), and the caches are bounded in number only; a word
this long is rare and costs one fold or stem each time it is met."""

_STEMMERS = {"en": "english", "de": "german", "ru": "russian"}

# Inflectional endings that may follow a plain word (beside stem equality, which the
# Snowball stemmers do not always give: they stem "саммит" to "самм" but "саммита" to
# "саммит", and leave German "Trumps" whole).


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENDINGS: dict[str, frozenset[str]] = {
    "en": _words("s es") | {""},
    "de": _words("s es e en n er ern ens ns") | {""},
    "ru": _words(
        "а я о е у ю ы и ь ой ей ом ем ам ям ами ями ах ях ов ев ий ый ая ое ые ие ого его "
        "ому ему ым им ую ою ею ых их ыми ими"
    )
    | {""},
}
_ANY_LATIN_ENDINGS = ENDINGS["en"] | ENDINGS["de"]

_fold_cache: dict[str, str] = {}
_stem_caches: dict[str | None, dict[str, str]] = {"en": {}, "de": {}, "ru": {}, None: {}}
# a folded word's stem as FieldText.stemmed needs it: Russian for a Cyrillic word,
# the Latin language's otherwise (one lookup a word, whatever its script)
_word_stems: dict[LatinLang, dict[str, str]] = {"en": {}, "de": {}, None: {}}
# no cache of PyStemmer's own (10,000 words of any length): stem() remembers short words
_stemmers = {lang: Stemmer.Stemmer(name, 0) for lang, name in _STEMMERS.items()}


def _collapse_umlauts(text: str) -> str:
    # ä and ae must meet: diacritics are already gone (ä → a), so ae → a as well.
    if "ae" in text or "oe" in text or "ue" in text:
        return text.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    return text


def _fold_uncached(token: str) -> str:
    text = skeleton(unicodedata.normalize("NFKC", token)).casefold().translate(_DROP)
    if not text.isascii():
        text = text.replace("й", _SHORT_I).replace("ё", "е")
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
        ).replace(_SHORT_I, "й")
        text = text.replace("ß", "ss")
    if not text.isalnum():
        # NFKC can turn one character into several words (U+FDFA) or punctuation
        text = "".join(c for c in text if c.isalnum())
    return _collapse_umlauts(text)


def fold(token: str) -> str:
    """One token folded: case, width, diacritics, ё, ä = ae, ß = ss, invisible marks."""
    folded = _fold_cache.get(token)
    if folded is None:
        folded = _fold_uncached(token)
        if len(token) <= _CACHED_WORD:
            _room(_fold_cache, 1)[token] = folded
    return folded


def is_cyrillic(folded: str) -> bool:
    """Whether a folded token is Cyrillic (stemmed as Russian whatever the document)."""
    return "\u0400" <= folded[0] <= "\u04ff"


def stem(folded: str, latin: LatinLang) -> str:
    """The stem of a folded token: Russian for Cyrillic, ``latin``'s stemmer otherwise."""
    lang = "ru" if is_cyrillic(folded) else latin
    cache = _stem_caches[lang]
    stemmed = cache.get(folded)
    if stemmed is None:
        stemmed = folded if lang is None else _stemmers[lang].stemWord(folded)
        stemmed = _collapse_umlauts(stemmed)
        if len(folded) <= _CACHED_WORD:
            _room(cache, 1)[folded] = stemmed
    return stemmed


def stems(words: Sequence[str], latin: LatinLang) -> list[str]:
    """:func:`stem` of each folded token, each stemmer called once for all the tokens
    of its language that are not remembered yet."""
    out: list[str | None] = []
    todo: dict[str | None, list[int]] = {}
    for n, folded in enumerate(words):
        lang = "ru" if "\u0400" <= folded[0] <= "\u04ff" else latin
        got = _stem_caches[lang].get(folded)
        if got is None:
            todo.setdefault(lang, []).append(n)
        out.append(got)
    for lang, numbers in todo.items():
        given = [words[n] for n in numbers]
        stemmed = given if lang is None else _stemmers[lang].stemWords(given)
        cache = _room(_stem_caches[lang], len(given))
        for n, folded, raw in zip(numbers, given, stemmed, strict=True):
            got = out[n] = _collapse_umlauts(raw)
            if len(folded) <= _CACHED_WORD:
                cache[folded] = got
    return cast("list[str]", out)


def _room(cache: dict[str, str], new: int) -> dict[str, str]:
    """``cache`` with room for ``new`` more entries (emptied if it has not), or a dict
    of their own when they alone would overfill it (a field of more new words than that:
    not remembered)."""
    if len(cache) + new > _CACHE_LIMIT:
        if new > _CACHE_LIMIT:
            return {}
        cache.clear()
    return cache


def endings_for(folded: str, latin: Sequence[LatinLang]) -> frozenset[str]:
    """Inflectional endings a word of this script may take in the document's language."""
    if is_cyrillic(folded):
        return ENDINGS["ru"]
    if len(latin) == 1:
        lang = latin[0]
        return ENDINGS[lang] if lang is not None else ENDINGS["en"]
    return _ANY_LATIN_ENDINGS


def tokenize(text: str) -> list[tuple[int, int, str]]:
    """The tokens of ``text``: (start, end, folded form), spans in the original text."""
    out: list[tuple[int, int, str]] = []
    for m in TOKEN.finditer(text):
        folded = fold(m.group())
        if folded:
            out.append((m.start(), m.end(), folded))
    return out


def fold_words(text: str) -> list[str]:
    """The folded tokens of a term or text, without spans."""
    return [fold(m.group()) for m in TOKEN.finditer(text) if fold(m.group())]


class FieldText:
    """One field of a document, tokenized: what the automata run over.

    Built without a Python loop over the tokens. A field that one byte a character holds
    (ASCII, cp1251 for Russian, cp1252 for German) is folded whole when each of its letters
    folds to one ASCII or Russian letter, it has no soft hyphen and no word mixes Latin and
    Cyrillic letters (nearly every news text): one byte table does what :func:`fold` does
    to each letter (case, ё → е, ä → a, é → e), separators become one space, then ß → ss
    and ae/oe/ue collapse. Any other field goes token by token through the fold cache in
    one ``map``. The words, their stems and their character spans in
    the text (only evidence and explanations need those) are found when first asked for.
    """

    __slots__ = (
        "_distinct",
        "_every_token",
        "_joined",
        "_marked",
        "_spans",
        "_stems",
        "_whole",
        "text",
        "words",
    )

    def __init__(
        self, text: str, words: list[str], whole: bytes | None = None, every_token: bool = True
    ) -> None:
        # positional ``whole`` and nothing made but what every field needs: one of
        # these is built for each field of each document
        self.text = text
        self.words = words
        """The folded words, in order."""
        self._whole = whole
        """For a field folded whole: the text with each separator a space and each other
        character some other byte, byte for character (where its words stand); turned
        into :data:`_LETTER` and spaces when a span is first asked for."""
        self._joined: str | None = None
        self._marked = False
        self._every_token = every_token
        """Whether each token of :attr:`text` is a word (none folds to nothing)."""
        self._spans: list[tuple[int, int]] | None = None
        self._stems: dict[LatinLang, str] | None = None
        self._distinct: frozenset[str] | None = None

    @classmethod
    def of(cls, text: str) -> FieldText:
        if text.isascii():
            # most fields: :func:`_fold_whole`'s first codec inline; an ASCII text has no
            # character its table sends to NUL (each letter and digit folds to one)
            layout = text.encode("ascii").translate(_ASCII_TABLE)
            return cls(text, _collapse_umlauts(layout.decode("ascii")).split(), layout)
        folded = _fold_whole(text)
        if folded is not None:
            words, layout = folded
            return cls(text, words, layout)
        if any(map(text.__contains__, _MARKS)):
            # invisible marks (zero-width spaces and joiners, soft hyphens): folding drops
            # them, and they join the letters around them into one token or stand among
            # separators, so the text without them has the same words (its spans are
            # then found by tokens, the text's own)
            folded = _fold_whole(_drop_marks(text))
            if folded is not None:
                return cls(text, folded[0])
        tokens = TOKEN.findall(text)
        cached = list(map(_fold_cache.get, tokens))
        words = (
            [f if f is not None else fold(t) for f, t in zip(cached, tokens, strict=True)]
            if None in cached
            else cast("list[str]", cached)
        )
        if "" in words:  # a token of marks only, or NFKC punctuation
            return cls(text, [w for w in words if w], None, False)
        return cls(text, words)

    @property
    def joined(self) -> str:
        """The folded words joined as " w1 w2 … " (leading and trailing space; "" when
        there is no word): the word at a position of it is the count of spaces before
        that position, less one. Made when first asked for: a document that no term
        can hit is told apart by its words alone."""
        joined = self._joined
        if joined is None:
            joined = self._joined = _join(self.words)
        return joined

    @property
    def distinct(self) -> frozenset[str]:
        """The folded words, each once."""
        if self._distinct is None:
            self._distinct = frozenset(self.words)
        return self._distinct

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Where each word stands in :attr:`text` (start, end)."""
        if self._spans is None:
            if self._whole is not None:
                # every token of a field folded whole is a word: a run of other bytes
                # than spaces in its layout
                self._spans = list(map(_SPAN, _RUN.finditer(self._whole)))
            else:
                self._spans = [m.span() for m in TOKEN.finditer(self.text) if fold(m.group())]
        return self._spans

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Where the words ``first`` to ``last`` stand in :attr:`text` (start, end),
        without locating every word of a field folded whole (evidence asks for one or
        two words of a long field)."""
        layout = self._whole
        if self._spans is not None:
            return self._spans[first][0], self._spans[last][1]
        if layout is None:
            if self._every_token and last < _SKIPS:
                # word n is token n: one regular expression skips the tokens before it
                text = self.text
                start = _token_start(text, first)
                start_last = _token_start(text, last) if last != first else start
                return start, _TOKEN_AT(text, start_last).end()  # type: ignore[union-attr]
            # the tokens up to the last word only; each a word unless one folds to nothing
            # (the fold of each is remembered but for a long one)
            found = list(islice(TOKEN.finditer(self.text), last + 1))
            folded = list(map(_fold_cache.get, map(_GROUP, found)))
            if None in folded or "" in folded:
                tokens = (m.span() for m in TOKEN.finditer(self.text) if fold(m.group()))
                spans = list(islice(tokens, last + 1))
                return spans[first][0], spans[last][1]
            return found[first].start(), found[last].end()
        if not self._marked:
            layout = self._whole = layout.translate(_MARK_TABLE)
            self._marked = True
        start = _word_start(layout, first)
        start_last = _word_start(layout, last) if last != first else start
        end = layout.find(b" ", start_last)
        return start, end if end != -1 else len(layout)

    def stemmed(self, latin: LatinLang) -> str:
        """The stems joined like :attr:`joined`."""
        made = self._stems
        if made is None:
            made = self._stems = {}
        got = made.get(latin)
        if got is None:
            words = self.words
            cache = _word_stems[latin]
            stems = list(map(cache.get, words))
            if None in stems:
                new = set(words).difference(cache)
                cache = _room(cache, len(new))
                for word in new:
                    if len(word) <= _CACHED_WORD:
                        cache[word] = stem(word, latin)
                stems = [s if (s := cache.get(w)) is not None else stem(w, latin) for w in words]
            got = made[latin] = _join(stems)  # type: ignore[arg-type]
        return got


def _fold_table(codec: str) -> bytes:
    """Byte → folded byte for a text in ``codec``: a letter or digit that :func:`fold`
    maps to one ASCII or Russian letter or digit maps to it (ß to itself, expanded after),
    any other letter or digit and the marks TOKEN keeps inside a word to NUL (the text
    then goes token by token), everything else (separators) to a space."""
    out = bytearray()
    for value in range(256):
        try:
            char = bytes([value]).decode(codec)
        except UnicodeDecodeError:
            out.append(0)  # no text encodes to it
            continue
        if char == "ß":
            out.append(value)
        elif char in _MARKS or (char.isalnum() and not _FOLDS_TO_ONE.fullmatch(fold(char))):
            out.append(0)
        elif char.isalnum():
            out.extend(fold(char).encode(codec))
        else:
            out.append(0x20)
    return bytes(out)


_MARKS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # beside combining marks, outside these codecs
_FOLDS_TO_ONE = re.compile(r"[a-z0-9а-я]")
# ASCII first; then Russian (and English with typographic quotes and dashes); then German
_CODECS = ("ascii", "cp1251", "cp1252")
_GERMAN_FIRST = ("cp1252", "cp1251")
_ASCII = ("ascii",)
_FOLD_TABLES = {codec: _fold_table(codec) for codec in _CODECS}
_ASCII_TABLE = _FOLD_TABLES["ascii"]
# a folded cp1251 text's words by script (digits dropped): a word of both is "LC" or "CL"
_SCRIPT_TABLE = bytes(
    ord("L") if 0x61 <= v <= 0x7A else ord("C") if v >= 0xE0 else v for v in range(256)
)


def _fold_whole(text: str) -> tuple[list[str], bytes] | None:
    """The folded words of ``text`` folded whole, and its layout (the text with each
    separator a space, one byte for each of the text's characters, see
    :attr:`FieldText.spans`);
    or None when it has to go token by token: a letter of another alphabet, a combining
    or invisible mark, a word that mixes Latin and Cyrillic letters (skeleton() decides
    those per word)."""
    codecs: tuple[str, ...] = _ASCII
    if not text.isascii():  # ASCII cannot encode it: not tried (a failure costs)
        codecs = _CODECS[1:]
        if "ü" in text or "ä" in text or "ö" in text or "ß" in text:
            codecs = _GERMAN_FIRST  # a failed encoding costs more than these four searches
    for codec in codecs:
        try:
            raw = text.encode(codec)
        except UnicodeEncodeError:
            continue
        folded = raw.translate(_FOLD_TABLES[codec])
        if b"\x00" in folded:
            return None
        latin = True
        if codec == "cp1251":
            scripts = folded.translate(_SCRIPT_TABLE, b"0123456789")
            # most Russian texts hold no Latin letter: one byte search tells, and then
            # neither a mixed word nor an ae/oe/ue pair is looked for (~5 µs a field)
            latin = b"L" in scripts
            if latin and (b"LC" in scripts or b"CL" in scripts):
                return None
        # every character between two words is a space now, so no ae/oe/ue pair spans
        # two words: collapsing the whole field is collapsing each word; done on the
        # bytes (one byte a letter in these codecs; the str of a Cyrillic text is not)
        body = folded
        if latin and (b"ae" in body or b"oe" in body or b"ue" in body):
            body = body.replace(b"ae", b"a").replace(b"oe", b"o").replace(b"ue", b"u")
        if codec == "cp1252" and b"\xdf" in body:
            body = body.replace(b"\xdf", b"ss")  # ß
        return body.decode(codec).split(), folded
    return None


def _drop_marks(text: str) -> str:
    """``text.translate(_DROP)``: the invisible marks taken out, a ``replace`` for each that
    is there (a translation by a mapping looks up every character, ~10 times slower)."""
    for mark in _MARKS:
        if mark in text:
            text = text.replace(mark, "")
    return text


def _word_start(layout: bytes, n: int) -> int:
    """Where word ``n`` (from 0) of a layout of letters and spaces begins, without a
    Python loop over its words: what is left of the layout once its first ``n`` words are
    split off; far into a long field, after the space of its ``n``-th space-letter pair
    (a binary search by counting them, which costs less than that many words)."""
    if n < _SPLIT_WORDS:
        return len(layout) - len(layout.split(None, n)[n])
    if layout[:1] == _LETTER:
        if n == 0:
            return 0
        n -= 1
    pair = bisect_left(
        range(len(layout)), n + 1, key=lambda at: layout.count(_WORD_START, 0, at + 2)
    )
    return pair + 1


_SKIPS = 256
"""Words into a field without a layout up to which :func:`_token_start` finds where one
begins (one compiled expression each, made when first needed); further in, token by token."""
_skip: dict[int, re.Pattern[str]] = {}
_TOKEN_AT = TOKEN.match


def _token_start(text: str, n: int) -> int:
    """Where token ``n`` (from 0) of ``text`` begins: the tokens before it skipped, each
    with the separators before it, by one match (a token taken whole, as ``TOKEN`` finds
    it: it begins with a letter or digit, which no separator is)."""
    pattern = _skip.get(n)
    if pattern is None:
        pattern = _skip[n] = re.compile(rf"(?:[\W_]*(?>{TOKEN.pattern})){{{n}}}[\W_]*")
    return pattern.match(text).end()  # type: ignore[union-attr]


def _join(words: list[str]) -> str:
    return " " + " ".join(words) + " " if words else ""
