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

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.topics.engine import TopicSet, compile_topics
    from monitor.topics.rules import check_topic

_HOMES = {
    "TopicSet": "engine",
    "compile_topics": "engine",
    "check_topic": "rules",
}
__all__ = ["TopicSet", "check_topic", "compile_topics"]


__getattr__ = lazy_getattr(__name__, _HOMES)
