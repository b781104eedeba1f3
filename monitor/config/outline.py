"""What the commands that list stored alerts and mutes need of the configuration: the
database, the feeds' names and the topics' ids; nothing else of the file is validated.

`monitor alerts`, `monitor mutes`, `mute` and `unmute` read the database; the topic ids
and feed names only tell a typo from a topic or feed since removed. Validating the whole
file costs them pydantic's import and the configuration's models (~130 ms, about half
of `monitor alerts`), so they read the file as :mod:`monitor.config.load` reads it (the
same problems for YAML, ``${NAME}`` and the file itself) and check only those values.
When one of them is not as :func:`~monitor.config.load_config` would take it, the whole
file is validated and its problems are raised, worded as every other command words them.
A problem elsewhere in the file is left to `monitor check` and the commands that use it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.config.dburl import normalize_database_url
from monitor.config.source import ConfigReader, read_config_text

__all__ = ["DEFAULT_DATABASE", "Outline", "load_outline"]

DEFAULT_DATABASE = "sqlite:///data/monitor.db"
"""``database:`` when the file gives none (as :class:`~monitor.config.Config`'s default)."""

# What the configuration's models take as a feed's name and a topic's id (pinned to
# theirs by tests/config/test_outline.py). Pydantic's ``$`` takes no trailing newline,
# Python's does: that one is checked apart.
FEED_NAME = re.compile(r"^[^\s]+$")
MAX_FEED_NAME = 200
TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
MAX_TOPIC_ID = 100


@dataclass(frozen=True, slots=True)
class Outline:
    """The database URL (normalized as the configuration normalizes it), the configured
    feeds' names and topics' ids."""

    database: str
    feed_names: frozenset[str]
    topic_ids: frozenset[str]


def load_outline(path: str | Path, *, env: Mapping[str, str] | None = None) -> Outline:
    """The outline of the file at ``path``, for a command that delivers nothing (a
    delivery secret missing from its environment is no problem).

    Raises :class:`~monitor.errors.ConfigError` as :func:`~monitor.config.load_config`
    does when the file cannot be read, or when the database, a feed's name or a topic's
    id is not one it would take (with every problem of the file).
    """
    variables = os.environ if env is None else env
    reader = ConfigReader(str(path), variables, delivers=False)
    data = reader.read(read_config_text(path))
    # A problem found while reading (a variable not set, an invalid reference, a key
    # given twice) leaves a value that is not the file's: ``${DATA_DIR}`` kept as text
    # would name a database nobody configured.
    outline = None if reader.problems else outline_of(data)
    if outline is not None:
        return outline
    from monitor.config.load import load_config

    config = load_config(path, env=variables, delivers=False)  # raises with the problems
    return Outline(
        database=config.database,
        feed_names=frozenset(f.name for f in config.feeds),
        topic_ids=frozenset(t.id for t in config.topics),
    )


def outline_of(data: Mapping[Any, Any]) -> Outline | None:
    """The outline of the file's data, or None when one of its values is not as the
    configuration's models would take it (the caller then validates the whole file)."""
    database = data.get("database", DEFAULT_DATABASE)
    if not isinstance(database, str):
        return None
    try:
        database = normalize_database_url(database)
    except ValueError:
        return None
    feeds = _keys(data.get("feeds"), "name", FEED_NAME, MAX_FEED_NAME)
    topics = _keys(data.get("topics"), "id", TOPIC_ID, MAX_TOPIC_ID)
    if feeds is None or topics is None:
        return None
    return Outline(database=database, feed_names=feeds, topic_ids=topics)


def _keys(entries: Any, key: str, pattern: re.Pattern[str], longest: int) -> frozenset[str] | None:
    """Each entry's ``key`` (a section left empty is none); None for any other shape,
    or a value the models would refuse."""
    if entries is None:
        return frozenset()
    if not isinstance(entries, list):
        return None
    found: list[str] = []
    for entry in entries:
        value = entry.get(key) if isinstance(entry, dict) else None
        if not isinstance(value, str) or not 0 < len(value) <= longest:
            return None
        if pattern.match(value) is None or value.endswith("\n"):
            return None
        found.append(value)
    return frozenset(found)
