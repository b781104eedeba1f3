"""The word caches of monitor.topics.text in a process that matches for months (a parser
worker of the daemon, `monitor match` over a long stream): what a word's fold and stems
cost is remembered, within a bound, whatever the words that come."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import user_environment

# New words arrive as fields of English, German and Russian text, through every way a
# field is folded and stemmed, then one hostile field of 30,000 words never seen before
# (mixed scripts: folded token by token); the memory still held when they are gone is
# the caches'.
_NEW_WORDS = """
import gc, json, random, tracemalloc
from monitor.topics.text import FieldText, stems

rng = random.Random(15)
LATIN, CYRILLIC = "abcdefghijklmnopqrstuvwxyz", "абвгдежзийклмнопрстуфхцчшщыьэюя"

def words(letters, count):
    return [
        "".join(rng.choice(letters) for _ in range(rng.randint(5, 12))) for _ in range(count)
    ]

def fields(letters, count, around=""):
    made = words(letters, count)
    for at in range(0, count, 100):
        yield " ".join(made[at:at + 100]) + around

gc.collect()
tracemalloc.start()
for text in [
    *fields(LATIN, 40_000),
    *fields(LATIN, 20_000, " Überfall"),
    *fields(CYRILLIC, 40_000),
    " ".join(words(LATIN + CYRILLIC, 30_000)),
]:
    field = FieldText.of(text)
    field.stemmed("en")
    field.stemmed("de")
    stems(field.words, None)
del field, text
gc.collect()
print(json.dumps(tracemalloc.get_traced_memory()[0] / 2**20))
"""


def test_a_long_run_of_new_words_leaves_the_caches_a_few_mebibytes():
    ran = subprocess.run(
        [sys.executable, "-c", _NEW_WORDS],
        capture_output=True,
        text=True,
        env=user_environment(),
        timeout=600,
        check=True,
    )
    held = json.loads(ran.stdout)
    assert held < 16, f"{held:.1f} MiB held after 130,000 new words"


def test_words_past_the_bound_are_folded_and_stemmed_as_the_first_ones(monkeypatch):
    from monitor.topics import text

    latin = [
        "Trumps",
        "Gipfeltreffen",
        "Präsidenten",
        "summits",
        "talks",
        "Außenminister",
        "Zürich",
    ]
    cyrillic = ["саммита", "Путина", "переговоры", "президентов", "Анкоридже"]
    mixed = [f"{word}{n}ж" for n in range(8) for word in latin]  # token by token
    expected = {
        lang: [text.stem(text.fold(w), lang) for w in latin + cyrillic + mixed]
        for lang in ("en", "de", None)
    }
    monkeypatch.setattr(text, "_CACHE_LIMIT", 10)
    for _ in range(2):  # a field of more words than the bound, then again
        field = text.FieldText.of(" ".join(latin + cyrillic + mixed))
        for lang in ("en", "de", None):
            assert field.stemmed(lang) == " " + " ".join(expected[lang]) + " "
            assert text.stems(field.words, lang) == expected[lang]
        for word in latin:  # one word at a time, past the bound
            for lang in ("en", "de", None):
                assert text.stem(text.fold(word), lang) == expected[lang][latin.index(word)]
