"""The multilingual topic engine: compile topics once, match documents, explain why.

Public surface::

    topics = compile_topics(config.topics)        # TermError on a bad term
    problems = check_topic(topic_config)          # [(path in the YAML mapping, message)]
    for match in topics.match(document):          # monitor.types.Match with Evidence
        ...

:mod:`monitor.topics.report` reads `monitor match` input and formats its output.
This package does no I/O of its own besides that module's reading of a given stream.

Imported lazily: a name is loaded from its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.topics.engine import TopicSet, compile_topics
    from monitor.topics.rules import check_topic

_HOMES = {
    "TopicSet": "engine",
    "compile_topics": "engine",
    "check_topic": "rules",
}
__all__ = ["TopicSet", "check_topic", "compile_topics"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
