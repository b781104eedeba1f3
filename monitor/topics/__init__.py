"""The multilingual topic engine: compile topics once, match documents, explain why.

Public surface::

    topics = compile_topics(config.topics)        # TermError on a bad term
    problems = check_topic(topic_config)          # [(path in the YAML mapping, message)]
    for match in topics.match(document):          # monitor.types.Match with Evidence
        ...

:mod:`monitor.topics.report` reads `monitor match` input and formats its output.
This package does no I/O of its own besides that module's reading of a given stream.
"""

from __future__ import annotations

from monitor.topics.engine import TopicSet, compile_topics
from monitor.topics.rules import check_topic

__all__ = ["TopicSet", "check_topic", "compile_topics"]
