"""How many items of the real streams full text would read: the page load of `auto`.

Run: ``PYTHONPATH=. python tests/benchmarks/fulltext_share.py`` (needs ../shared/data).
For every item of ../shared/data/streams/*.jsonl, what :func:`monitor.fulltext.decide_page`
decides in ``auto`` mode with config/monitor.yaml's topics: read (short feed text and a term
of a rule that applies hits the title or summary), no_term, long_enough. Figures go to
tests/benchmarks/README.md. Fetches nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from monitor.fulltext import decide_page
from monitor.topics import compile_topics
from monitor.topics.report import parse_published
from monitor.topics.spec import TopicConfig
from monitor.types import Article, Document

ROOT = Path(__file__).resolve().parents[2]
STREAMS = (ROOT / ".." / "shared" / "data" / "streams").resolve()


def main() -> None:
    config = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    topics = compile_topics([TopicConfig.model_validate(t) for t in config["topics"]])
    for path in sorted(STREAMS.glob("*.jsonl")):
        counts: Counter[str] = Counter()
        for line in path.open(encoding="utf-8"):
            item = json.loads(line)
            try:
                published = parse_published(item.get("published"))
            except ValueError:
                published = None
            article = Article(
                feed="stream",
                article_key=item["id"],
                content_hash="",
                url=item.get("url"),
                title=item.get("title") or "",
                summary=item.get("summary") or "",
                language=item.get("language"),
                published=published,
            )
            hits = topics.hits_a_term(Document.from_article(article))
            counts[decide_page("auto", article, hits_a_term=hits).value] += 1
        total = sum(counts.values())
        print(
            f"{path.name:<34} {total:>6} items, read {counts['read'] / total:6.1%} {dict(counts)}"
        )


if __name__ == "__main__":
    main()
