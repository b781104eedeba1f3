"""What a configuration file must not be, checked before YAML sees it; and warnings.

Reading: only a regular file (a FIFO would block `check` for ever, ``/dev/zero`` would
fill the memory), at most :data:`MAX_FILE_BYTES`; no character YAML refuses (NUL, C0
controls …), each reported at its line rather than as PyYAML's traceback; no
``${NAME}`` substitution longer than :data:`MAX_VARIABLE_BYTES`. Warnings (valid, but
probably not what the operator meant, printed by `monitor check`): terms that look like
regular expressions (terms are words) and terms that are stop words (they match almost
every article).

It neither parses YAML nor validates the schema: :mod:`monitor.config.load` does.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_VARIABLE_BYTES = 64 * 1024

# PyYAML's own test (yaml.reader.Reader.NON_PRINTABLE): what it refuses to read.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_REGEX_HINT = re.compile(r"\[[^\]]*\]|\(\?|[+?{}|\\^$]|\(.*\)|\.\*")
_TERM_KEYS = frozenset({"all", "any", "none", "rules"})
_STOP_TEXT = """
a an and are as at be but by for from has have in is it its of on or that the this to was
were will with der die das den dem des ein eine einen einem und oder aber nicht ist im mit
von zu auf für sich auch als и в во не что он на я с со как а то все она так его но да ты
к у же вы за бы по из
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


class FileRefusedError(Exception):
    """The path cannot be a configuration file (message says why)."""


def read_config_bytes(path: Path) -> bytes:
    """The file's bytes, when it is a regular file of at most MAX_FILE_BYTES."""
    st = path.stat()  # OSError for the caller: missing, no permission …
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a directory"
            if stat.S_ISDIR(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        raise FileRefusedError(f"cannot read the file: {kind}, not a YAML file")
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefusedError(
            f"the file is larger than {MAX_FILE_BYTES >> 20} MiB: not a configuration"
        )
    return data


def unprintable(text: str, limit: int = 20) -> Iterator[tuple[int, str]]:
    """(line, message) for characters YAML refuses, the first ``limit`` of them."""
    for count, match in enumerate(_NOT_PRINTABLE.finditer(text)):
        if count >= limit:
            return
        line = text.count("\n", 0, match.start()) + 1
        code = ord(match.group())
        yield (
            line,
            (
                f"control character U+{code:04X} is not allowed in the file "
                "(remove it; write it as \\x escape inside double quotes if it is meant)"
            ),
        )


def tab_message(text: str, line: int, column: int) -> str | None:
    """What to say of a tab the YAML parser refused at ``line`` (1-based), ``column``
    (0-based), in the operator's words (PyYAML says "found character '\\t' that cannot
    start any token"); None when no tab stands there. YAML indents with spaces only;
    PyYAML's parser takes a tab nowhere but inside quotes, a comment or a ``|`` text."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    row = lines[line - 1]
    if column >= len(row) or row[column] != "\t":
        return None
    if not row[:column].strip(" \t"):
        return (
            f"a tab in the indentation (column {column + 1}): YAML indents with spaces "
            "only; replace the tab with spaces"
        )
    return (
        f"a tab at column {column + 1}: YAML takes a tab only inside quotes or a comment; "
        "replace it with a space"
    )


def term_warnings(
    data: Any, line_of: Callable[[tuple[Any, ...]], int | None]
) -> list[tuple[int | None, str]]:
    """(line, warning) for topic terms that look like regular expressions or are stop words."""
    found: list[tuple[int | None, str]] = []
    topics = data.get("topics") if isinstance(data, dict) else None
    for i, topic in enumerate(topics if isinstance(topics, list) else []):
        if isinstance(topic, dict):
            for key in _TERM_KEYS & topic.keys():
                for loc, term in _strings(topic[key], ("topics", i, key)):
                    warning = _term_warning(term)
                    if warning:
                        found.append((line_of(loc), f"topics[{i}]: term {term[:60]!r} {warning}"))
    return found


def _term_warning(term: str) -> str | None:
    body = term[:-1] if term.endswith("*") and not term.endswith("**") else term
    if _REGEX_HINT.search(body) or "*" in body:
        return "looks like a regular expression; terms are words or phrases, matched ignoring case"
    if term.strip().lower() in STOP_WORDS:
        return "is a stop word: it matches almost every article"
    return None


def _strings(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for j, item in enumerate(value):
            yield from _strings(item, (*loc, j))
    elif isinstance(value, dict):
        for key in _TERM_KEYS & value.keys():
            yield from _strings(value[key], (*loc, key))
