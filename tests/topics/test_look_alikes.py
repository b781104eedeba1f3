"""The look-alike letters kept in the package are the ones Unicode TR39 confusables give."""

from __future__ import annotations

import subprocess
import sys

from confusable_homoglyphs import confusables as data

from monitor.topics import confusables
from monitor.topics.confusables import skeleton


def _from_the_data(char: str, script: str) -> str:
    """What a letter folds to, read from ``confusable_homoglyphs`` (as it once was)."""
    found = data.is_confusable(char, greedy=True, preferred_aliases=[script.lower()])
    for entry in found or ():
        for glyph in entry.get("homoglyphs", ()):
            candidate = glyph.get("c", "")
            if len(candidate) == 1 and confusables._script(candidate) == script:
                return str(candidate)
    return char


def test_every_letter_of_the_three_scripts_has_the_look_alike_the_data_gives() -> None:
    letters = [chr(c) for c in range(0x0600) if confusables._script(chr(c)) is not None]
    assert len(letters) > 800
    differ = [
        (char, script)
        for char in letters
        for script in confusables._SCRIPTS
        if script != confusables._script(char)
        and confusables._look_alike(char, script) != _from_the_data(char, script)
    ]
    assert differ == []


def test_mixed_words_are_folded_to_their_main_script() -> None:
    assert skeleton("Тrump") == "Trump"  # a Cyrillic Т among Latin letters
    assert skeleton("Пyтин") == "Путин"  # a Latin y among Cyrillic letters
    assert skeleton("Trump") == "Trump" and skeleton("Трамп") == "Трамп"


def test_a_mixed_word_matches_without_loading_the_confusables_data() -> None:
    # the data is 900 kB of JSON: `monitor match` over a stream met a mixed word and
    # spent ~60 ms loading it
    script = """
import sys
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document
topics = compile_topics([TopicConfig.model_validate({"id": "t", "all": [["Trump"]]})])
found = topics.match(Document(title="Тrump spoke", language="en"))
print([m.topic for m in found], "confusable_homoglyphs" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["['t']", "False"]
