"""The shipped topics on labeled items: precision and recall per topic and language.

Two sets: ../shared/data's dev set (skipped when ../shared is absent), and the project's own
tests/topics/detection_cases.jsonl (70 items written for issue #14's failure classes, hard
distractors first: other peace councils, other summits written out, a Board of Peace
invitation, vetoes that should apply near a hit only, follow-ups naming "the US president",
"der US-Präsident", «американский лидер» or "the Kremlin leader"). Both must be perfect.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from monitor.topics import TopicSet, compile_topics
from monitor.topics.report import parse_published
from monitor.topics.spec import TopicConfig
from monitor.types import Document

ROOT = Path(__file__).resolve().parents[2]
DATA = (ROOT / ".." / "shared" / "data").resolve()
CASES = Path(__file__).with_name("detection_cases.jsonl")
PRECISION, RECALL = 1.0, 1.0


@pytest.fixture(scope="module")
def topics() -> TopicSet:
    config = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    return compile_topics([TopicConfig.model_validate(t) for t in config["topics"]])


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def test_default_topics_reach_the_bars_on_the_dev_set(topics: TopicSet) -> None:
    check_bars(topics, need(DATA / "dev_articles.jsonl"))


def test_default_topics_are_right_on_the_projects_hard_cases(topics: TopicSet) -> None:
    check_bars(topics, CASES)


def check_bars(topics: TopicSet, path: Path) -> None:
    counts: Counter[tuple[str, str, str]] = Counter()
    wrong = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            doc = Document(
                title=item.get("title", ""),
                summary=item.get("summary", ""),
                language=item["language"],
                published=parse_published(item.get("published")),
            )
            found = {m.topic for m in topics.match(doc)}
            if found != set(item["labels"]):
                wrong.append(f"{item['id']}: {sorted(found)} {item['title']}")
            for topic in topics.ids:
                labeled, matched = topic in item["labels"], topic in found
                kind = "tp" if labeled and matched else "fp" if matched else "fn" if labeled else ""
                counts[topic, item["language"], kind] += 1
    failures = []
    for topic in topics.ids:
        for lang in ("en", "de", "ru"):
            tp, fp, fn = (counts[topic, lang, k] for k in ("tp", "fp", "fn"))
            assert tp + fn > 0, f"no labeled {topic} items in {lang}"
            precision, recall = tp / max(1, tp + fp), tp / (tp + fn)
            if precision < PRECISION or recall < RECALL:
                failures.append(f"{topic}/{lang}: precision {precision:.2f} recall {recall:.2f}")
    assert not failures, (failures, wrong)


def test_seed_article_matches_both_topics(topics: TopicSet) -> None:
    text = need(DATA / "seed_article_de.txt").read_text(encoding="utf-8")
    found = {m.topic for m in topics.match(Document(content=text))}
    assert found == {"trump-putin-summit", "peace-council"}
