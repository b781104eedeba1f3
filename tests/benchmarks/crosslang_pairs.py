"""How many cross-language pairs of the summit week the story identity joins, and how many wrongly.

Not a test. The items of ``../shared/data/streams/*-2025.jsonl`` published from 8 to 22
August 2025 that match a default topic (config/monitor.yaml) are paired across languages
(Russian with English: the streams hold no German item of that week) when both match the
same topic and were published within ``--window`` of each other. Every pair is judged by
:func:`monitor.alerts.crosslang.compare_headlines`; printed: the outcomes, every joined pair
with its hand label (LABELS below: S same story, D different story), and the pairs that
came closest without joining, for reading.

    PYTHONPATH=. python tests/benchmarks/crosslang_pairs.py [--window 48] [--near 12]
"""

from __future__ import annotations

import argparse
import collections
import json
from datetime import UTC, datetime, timedelta

from monitor.alerts.crosslang import (
    CrossLanguage,
    compare_headlines,
    headline_key,
    shared_entities,
    topic_table,
)
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from tests.benchmarks.story_thresholds import STREAMS, parse_time
from tests.conftest import default_topics

START = datetime(2025, 8, 8, tzinfo=UTC)
END = datetime(2025, 8, 23, tzinfo=UTC)

# Hand labels of pairs (Russian item id, English item id): "S" the same story (the same
# event or statement reported), "D" a different story. Written by reading both headlines
# (and the Russian summary) of every pair the rule joined, and of the closest misses.
LABELS: dict[tuple[str, str], str] = {
    # joined: the White House weighing whether Zelensky comes to Alaska (10 Aug)
    ("ru25-01320", "en25-12505"): "S",
    ("ru25-01321", "en25-12505"): "S",
    # the same story, found by reading, not joined: the Russian item is a digest whose
    # other sentences carry a negation ("Путин не готов"), so the markers differ
    ("ru25-01320", "en25-12485"): "S",
    ("ru25-01321", "en25-12485"): "S",
    # the 30 closest misses (most shared names): previews, explainers, other statements;
    # the venue announced (12 Aug) and the military base named (13 Aug) read as two stories
    ("ru25-00082", "en25-12505"): "D",
    ("ru25-00082", "en25-12934"): "D",
    ("ru25-00082", "en25-12965"): "D",
    ("ru25-00078", "en25-12370"): "D",
    ("ru25-00078", "en25-12382"): "D",
    ("ru25-00078", "en25-12386"): "D",
    ("ru25-00078", "en25-12505"): "D",
    ("ru25-00078", "en25-12576"): "D",
    ("ru25-00078", "en25-12610"): "D",
    ("ru25-00078", "en25-12658"): "D",
    ("ru25-00078", "en25-12771"): "D",
    ("ru25-00078", "en25-12809"): "D",
    ("ru25-00078", "en25-12934"): "D",
    ("ru25-00078", "en25-12939"): "D",
    ("ru25-00078", "en25-12965"): "D",
    ("ru25-00082", "en25-12576"): "D",
    ("ru25-00082", "en25-12610"): "D",
    ("ru25-00082", "en25-12658"): "D",
    ("ru25-00082", "en25-12771"): "D",
    ("ru25-00082", "en25-12809"): "D",
    ("ru25-00082", "en25-12939"): "D",
    ("ru25-00082", "en25-12944"): "D",
    ("ru25-00082", "en25-13060"): "D",
    ("ru25-00082", "en25-13108"): "D",
    ("ru25-00087", "en25-12658"): "D",
    ("ru25-00087", "en25-12716"): "D",
    ("ru25-00087", "en25-12761"): "D",
    ("ru25-00087", "en25-12875"): "D",
    ("ru25-00087", "en25-12903"): "D",
    ("ru25-00087", "en25-12931"): "D",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=48.0, help="hours")
    parser.add_argument("--near", type=int, default=12, help="closest misses to print")
    args = parser.parse_args()
    window = timedelta(hours=args.window)
    configs = [TopicConfig.model_validate(t) for t in default_topics()]
    topics = compile_topics(configs)
    tables = {c.id: topic_table(c) for c in configs}
    items = []
    for path in sorted(STREAMS.glob("*-2025.jsonl")):
        for line in path.open(encoding="utf-8"):
            item = json.loads(line)
            when = parse_time(item.get("published") or "")
            if when is None or not START <= when < END:
                continue
            doc_matches = topics.match(_document(item, when))
            for match in doc_matches:
                key = headline_key(item["title"], item.get("language"), tables[match.topic])
                items.append((when.astimezone(UTC), match.topic, item, key))
    by_language = collections.Counter((t, i.get("language")) for _, t, i, _ in items)
    print("matched items:", dict(by_language))
    outcomes: collections.Counter[str] = collections.Counter()
    joined, near = [], []
    for when_a, topic_a, a, key_a in items:
        if key_a.language != "ru":
            continue
        for when_b, topic_b, b, key_b in items:
            if topic_b != topic_a or key_b.language == "ru" or abs(when_b - when_a) > window:
                continue
            outcome = compare_headlines(key_a, key_b, tables[topic_a])
            outcomes[outcome] += 1
            shared = shared_entities(key_a, key_b, tables[topic_a])
            row = (len(shared), a, b, sorted(shared), outcome)
            if outcome is CrossLanguage.SAME_STORY:
                joined.append(row)
            elif len(shared) >= 2:
                near.append(row)
    print(f"{sum(outcomes.values())} ru-en pairs of one topic within {args.window:g} h:")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome}: {count}")
    labels = collections.Counter(LABELS.get((a["id"], b["id"]), "?") for _, a, b, _, _ in joined)
    print(
        f"joined {len(joined)}: labelled same {labels['S']}, different {labels['D']},"
        f" unlabelled {labels['?']}"
    )
    for n, a, b, shared, _ in joined:
        _print(LABELS.get((a["id"], b["id"]), "?"), n, a, b, shared)
    near.sort(key=lambda r: -r[0])
    near_labels = collections.Counter(LABELS.get((a["id"], b["id"]), "?") for _, a, b, _, _ in near)
    print(
        f"not joined with 2+ shared entities: {len(near)}; labelled same {near_labels['S']},"
        f" different {near_labels['D']}; the closest {args.near}:"
    )
    for n, a, b, shared, outcome in near[: args.near]:
        _print(LABELS.get((a["id"], b["id"]), "?") + f" {outcome}", n, a, b, shared)


def _document(item: dict[str, str], when: datetime) -> object:
    from monitor.types import Document

    return Document(
        title=item.get("title") or "",
        summary=item.get("summary") or "",
        language=item.get("language"),
        published=when,
    )


def _print(label: str, n: int, a: dict[str, str], b: dict[str, str], shared: list[str]) -> None:
    print(
        f"  [{label}] {n} {shared}\n     ru {a['id']} {a['published']}: {a['title'][:110]}"
        f"\n     en {b['id']} {b['published']}: {b['title'][:110]}"
    )


if __name__ == "__main__":
    main()
