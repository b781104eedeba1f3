"""How the default topics' matches in the shared news streams group into stories.

Not a test. Every item of ``../shared/data/streams/*.jsonl`` is matched against the
topics of config/monitor.yaml; the matches are then taken in publication order, as a
monitor would meet them, and each either joins a story alerted in the last 48 hours
(same topic, same language, the same canonical URL or a near-identical title) or
raises an alert. Printed: alerts raised with the topic's own words set aside
(:class:`monitor.alerts.stories.TopicWords`, what `monitor` does) and without, and the pairs
the two disagree on.

    PYTHONPATH=. python tests/benchmarks/story_groups.py
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.alerts.stories import (
    TopicWords,
    same_story_fingerprints,
    title_fingerprint,
    topic_words,
)
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document
from tests.benchmarks.story_thresholds import STREAMS, WINDOW, parse_time
from tests.conftest import default_topics


@dataclass(frozen=True)
class Matched:
    when: datetime
    topic: str
    language: str | None
    title: str
    url: str | None


def matched_items() -> list[Matched]:
    topics = compile_topics([TopicConfig.model_validate(t) for t in default_topics()])
    items: list[Matched] = []
    for path in sorted(STREAMS.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            data = json.loads(line)
            when = parse_time(data.get("published") or "")
            if when is None:
                continue
            doc = Document(
                title=data.get("title") or "",
                summary=data.get("summary") or "",
                language=data.get("language"),
            )
            items += [
                Matched(when, m.topic, data.get("language"), data["title"], data.get("url"))
                for m in topics.match(doc)
            ]
    return sorted(items, key=lambda m: m.when)


def group(
    items: list[Matched], words: dict[str, TopicWords] | None, window: timedelta = WINDOW
) -> tuple[int, list[tuple[str, str]]]:
    """(alerts raised, [(title, the alert's title it joined)])."""
    alerts: list[tuple[Matched, str]] = []
    joined: list[tuple[str, str]] = []
    seen: set[tuple[str, str | None]] = set()
    for item in items:
        if item.url and (item.topic, item.url) in seen:
            continue
        seen.add((item.topic, item.url))
        fp = title_fingerprint(item.title, item.language)
        topic = words.get(item.topic) if words is not None else None
        hit = next(
            (
                a
                for a, other in reversed(alerts)
                if a.topic == item.topic
                and a.language == item.language
                and item.when - a.when <= window
                and same_story_fingerprints(fp, other, topic)
            ),
            None,
        )
        if hit is None:
            alerts.append((item, fp))
        else:
            joined.append((item.title, hit.title))
    return len(alerts), joined


def main() -> int:
    if not STREAMS.is_dir():
        print(f"no streams at {STREAMS}", file=sys.stderr)
        return 1
    items = matched_items()
    topics = compile_topics([TopicConfig.model_validate(t) for t in default_topics()])
    words = {tid: topic_words(topics.terms(tid)) for tid in topics.ids}
    with_words, joined_with = group(items, words)
    without, joined_without = group(items, None)
    print(
        f"{len(items)} matches; alerts with the topic words set aside: {with_words}, "
        f"without: {without}"
    )
    for title, other in sorted(set(joined_without) - set(joined_with)):
        print(f"  separate now: {title!r}  /  {other!r}")
    for title, other in sorted(set(joined_with) - set(joined_without)):
        print(f"  joined now:   {title!r}  /  {other!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
