"""The engine's results on real news, frozen: a speed-up may not change one match.

Matches a few thousand items of ../shared/data/streams and every dev article (English,
German, Russian; a third with the language removed, so detection runs) against the
shipped topics and 200 topics generated from the items' own words (plain words,
phrases, ``word*``, ``*word``, ``*word*``, exact terms, ``all``/``any``/``none``,
field and language filters), and compares every match (topic, score, evidence term,
field and offset) with tests/topics/frozen_matches.jsonl, written by the engine as it
was before matching was restructured (issue 15). Skipped when ../shared is absent.

Regenerate (only when a change of results is intended):
``PYTHONPATH=. .venv/bin/python tests/topics/test_engine_frozen.py --write``
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.topics import TopicSet, compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / ".." / "shared" / "data").resolve()
FROZEN = Path(__file__).with_name("frozen_matches.jsonl")
SEED = 15
EVERY = 14  # every 14th stream item: about 4,000 of 55,798
_WORD = re.compile(r"[^\W\d_]{4,}")


def read_items() -> list[dict[str, Any]]:
    if not (SHARED / "streams").is_dir():
        pytest.skip(f"shared data not found: {SHARED}")
    items: list[dict[str, Any]] = []
    for path in sorted((SHARED / "streams").glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number % EVERY == 0:
                    items.append(json.loads(line))
    with (SHARED / "dev_articles.jsonl").open(encoding="utf-8") as lines:
        items.extend(json.loads(line) for line in lines)
    return items


def documents(items: list[dict[str, Any]]) -> list[tuple[str, Document]]:
    out = []
    for number, item in enumerate(items):
        out.append(
            (
                item["id"],
                Document(
                    title=item.get("title") or "",
                    summary=item.get("summary") or "",
                    content=item.get("content") or item.get("text") or "",
                    language=None if number % 3 == 0 else item.get("language"),
                ),
            )
        )
    return out


def _term(rng: random.Random, words: list[str], title: list[str]) -> str:
    kind = rng.random()
    word = rng.choice(words)
    if kind < 0.15 and len(title) >= 2:
        at = rng.randrange(len(title) - 1)
        return f"{title[at]} {title[at + 1]}"
    if kind < 0.25:
        return word[: max(4, len(word) - 2)] + "*"
    if kind < 0.32:
        return "*" + word[-4:]
    if kind < 0.35:
        return "*" + word[1:5] + "*"
    if kind < 0.45:
        return f'"{word}"'
    return word


def generated_topics(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """200 topics of the items' own title words, so that many items match."""
    rng = random.Random(SEED)
    titles = [_WORD.findall(item.get("title") or "") for item in items]
    titles = [t for t in titles if t]
    topics: list[dict[str, Any]] = []
    for n in range(200):
        title = rng.choice(titles)
        words = title + rng.choice(titles)
        topic: dict[str, Any] = {"id": f"gen-{n:03d}"}
        if n % 2:
            topic["any"] = [_term(rng, words, title) for _ in range(rng.randint(2, 5))]
        else:
            topic["all"] = [
                [_term(rng, title, title) for _ in range(rng.randint(1, 3))],
                [_term(rng, words, title) for _ in range(rng.randint(1, 3))],
            ]
        if n % 5 == 0:
            topic["none"] = [rng.choice(rng.choice(titles))]
        if n % 7 == 0:
            topic["fields"] = ["title"]
        if n % 11 == 0:
            topic["languages"] = [rng.choice(["en", "ru", "de"])]
        topics.append(topic)
    return topics


def topic_set(items: list[dict[str, Any]]) -> TopicSet:
    config = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    shipped = config["topics"]
    return compile_topics(
        [TopicConfig.model_validate(t) for t in [*shipped, *generated_topics(items)]]
    )


def results(*, many: bool = False) -> list[dict[str, Any]]:
    """The frozen rows; ``many``: matched 256 documents at a time (``match_many``)."""
    items = read_items()
    topics = topic_set(items)
    docs = documents(items)
    if many:
        batches = [docs[i : i + 256] for i in range(0, len(docs), 256)]
        each = [f for b in batches for f in topics.match_many([doc for _, doc in b])]
    else:
        each = [topics.match(doc) for _, doc in docs]
    out = []
    for (item_id, _), found in zip(docs, each, strict=True):
        if found:
            out.append(
                {
                    "id": item_id,
                    "matches": [
                        [m.topic, m.score, [[e.term, e.field, e.offset] for e in m.evidence]]
                        for m in found
                    ],
                }
            )
    return out


@pytest.mark.parametrize("many", [False, True], ids=["one at a time", "many at a time"])
def test_the_engine_matches_the_frozen_results(many: bool) -> None:
    got = results(many=many)
    expected = [json.loads(line) for line in FROZEN.read_text(encoding="utf-8").splitlines()]
    assert len(got) > 1000, "the generated topics should match many items"
    expected_by_id = {e["id"]: e for e in expected}
    got_by_id = {g["id"]: g for g in got}
    assert got_by_id.keys() == expected_by_id.keys()
    differ = [i for i in got_by_id if got_by_id[i] != expected_by_id[i]]
    assert not differ, f"{len(differ)} items differ, e.g. {got_by_id[differ[0]]}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    with FROZEN.open("w", encoding="utf-8") as out:
        for row in results():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
