"""Benchmark: topic matching throughput against the number of topics, and a naive baseline.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_match.py [--articles 20000] [--quick]``

* 20,000 generated ~600-character articles in English, German and Russian (a third
  without a language, so detection runs), fixed seed;
* 10, 100, 1,000 and 10,000 generated topics of 5–10 terms (names, phrases, wildcards,
  inflected forms in the articles), compiled once;
* beside each, the naive baseline measured in the same run: one compiled regular
  expression per term, tried term by term, then the same all/any/none logic;
* last, `monitor match --json` as the CLI will do it: a fresh Python process that reads
  every item of ../shared/data/streams/*.jsonl, compiles config/monitor.yaml's topics,
  matches and prints one JSON line per item (skipped when ../shared is absent).

Matching rates are CPU time of this process (``time.process_time``), best of interleaved
rounds: the machine is shared, and wall time swings with other people's work. The
streams run is wall time of the child process, start-up included.

Not run by pytest (tests/benchmarks is excluded); figures go to tests/benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document

ROOT = Path(__file__).resolve().parents[2]
STREAMS = (ROOT / ".." / "shared" / "data" / "streams").resolve()
SEED = 20250815

_LATIN_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_CYRILLIC_SYLLABLES = [c + v for c in "бвгдзклмнпрстф" for v in "аеиоу"]
_FUNCTION = {
    "en": str.split("the of and to in a is that for on with as by at from was has will after said"),
    "de": str.split(
        "der die das und zu in den ist von mit dem nicht sich auf für als bei nach wird"
    ),
    "ru": str.split("и в не на что с по к за из о от как для это после также его она они был"),
}
_ENDINGS = {"en": ["", "s"], "de": ["", "s", "es", "en"], "ru": ["", "а", "у", "ом", "е", "ы"]}


def _word(rng: random.Random, syllables: Sequence[str], low: int = 2, high: int = 4) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.randint(low, high)))


def make_vocabulary(rng: random.Random) -> dict[str, tuple[list[str], list[str]]]:
    """Per language: (common words, names); names are what topics are about."""
    out = {}
    for lang in ("en", "de", "ru"):
        syllables = _CYRILLIC_SYLLABLES if lang == "ru" else _LATIN_SYLLABLES
        common = [_word(rng, syllables) for _ in range(3000)]
        names = sorted({_word(rng, syllables, 3, 3).capitalize() for _ in range(50000)})
        out[lang] = (common, names)
    return out


def make_articles(
    rng: random.Random, vocab: dict[str, tuple[list[str], list[str]]], count: int
) -> list[Document]:
    docs = []
    langs = ("en", "de", "ru")
    for i in range(count):
        lang = langs[i % 3]
        common, names = vocab[lang]
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 600:
            r = rng.random()
            if r < 0.35:
                words.append(rng.choice(_FUNCTION[lang]))
            elif r < 0.9:
                words.append(common[min(int(rng.paretovariate(1.1)) - 1, len(common) - 1)])
            else:
                words.append(rng.choice(names) + rng.choice(_ENDINGS[lang]))
        text = " ".join(words)
        cut = text.find(" ", 60)
        docs.append(
            Document(
                title=text[:cut].capitalize(),
                content=text[cut + 1 :] + ".",
                language=lang if i % 3 or i % 2 else None,
            )
        )
    return docs


def make_term(rng: random.Random, names: Sequence[str]) -> str:
    r = rng.random()
    if r < 0.2:  # a phrase
        return f"{rng.choice(names)} {rng.choice(names)}"
    if r < 0.3:  # a wildcard
        return rng.choice(names)[:-1] + "*"
    return rng.choice(names)


def make_topics(
    rng: random.Random, vocab: dict[str, tuple[list[str], list[str]]], count: int
) -> list[TopicConfig]:
    topics = []
    for i in range(count):
        common, names = vocab[("en", "de", "ru")[i % 3]]
        terms = [make_term(rng, names) for _ in range(rng.randint(5, 10))]
        shape: dict[str, object] = {"id": f"t{i}", "none": [rng.choice(common)]}
        if i % 2:  # two groups that must both hit
            shape["all"] = [terms[:3], terms[3:]]
        else:  # one group and one of the other terms
            shape["all"] = [terms[:3]]
            shape["any"] = terms[3:]
        topics.append(TopicConfig.model_validate(shape))
    return topics


class NaiveMatcher:
    """The baseline: one compiled regular expression per term, tried one by one."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self.topics = [
            (
                [[self._compile(t) for t in group] for group in topic.all],
                [self._compile(t) for t in topic.any],
                [self._compile(t) for t in topic.none],
            )
            for topic in topics
        ]

    @staticmethod
    def _compile(term: str) -> re.Pattern[str]:
        tail = r"\w*" if term.endswith("*") else r"\b"
        return re.compile(r"\b" + re.escape(term.rstrip("*")) + tail, re.IGNORECASE)

    def match(self, doc: Document) -> int:
        text = f"{doc.title}\n{doc.summary}\n{doc.content}"
        found = 0
        for all_, any_, none in self.topics:
            if (
                all(any(p.search(text) for p in group) for group in all_)
                and (not any_ or any(p.search(text) for p in any_))
                and not any(p.search(text) for p in none)
            ):
                found += 1
        return found


def rate(fn: object, docs: Sequence[Document], budget: float) -> tuple[float, int, int]:
    """Articles per CPU second of ``fn`` over ``docs`` (stops after ``budget`` seconds)."""
    assert callable(fn)
    matched = 0
    start = time.process_time()
    done = 0
    for doc in docs:
        result = fn(doc)
        matched += len(result) if isinstance(result, list) else int(result)
        done += 1
        if time.process_time() - start > budget:
            break
    return done / (time.process_time() - start), done, matched


def bench_topics(articles: int, counts: Sequence[int], naive_budget: float, rounds: int) -> None:
    rng = random.Random(SEED)
    vocab = make_vocabulary(rng)
    docs = make_articles(rng, vocab, articles)
    avg = sum(len(d.title) + len(d.content) + 1 for d in docs) / len(docs)
    print(f"{len(docs)} articles, {avg:.0f} characters on average, en/de/ru")
    warm = compile_topics(make_topics(random.Random(SEED), vocab, 10))
    for doc in docs:  # fill the word caches once, as in a running daemon
        warm.match(doc)
    sets = []
    for count in counts:
        topics = make_topics(random.Random(SEED + count), vocab, count)
        terms = sum(len(t.any) + sum(len(g) for g in t.all) + len(t.none) for t in topics)
        start = time.process_time()
        compiled = compile_topics(topics)
        sets.append((count, terms, time.process_time() - start, compiled, NaiveMatcher(topics)))
    # Interleaved rounds, best of each: the machine is shared, and a load spike during
    # one count's turn would otherwise skew the ratios between counts.
    best: dict[int, tuple[float, int, int]] = {}
    naive: dict[int, tuple[float, int, int]] = {}
    for _ in range(rounds):
        for count, _, _, compiled, baseline in sets:
            got = rate(compiled.match, docs, budget=1e9)
            best[count] = max(best.get(count, got), got)
            got = rate(baseline.match, docs, budget=naive_budget / rounds)
            naive[count] = max(naive.get(count, got), got)
    print(
        f"{'topics':>7} {'terms':>7} {'compile s':>9} {'engine art/s':>13} {'matches':>8} "
        f"{'naive art/s':>12} {'(n)':>6} {'speed-up':>9} {'time vs 10':>10}"
    )
    base = best[counts[0]][0]
    for count, terms, compile_s, _, _ in sets:
        engine, _, matched = best[count]
        slow, slow_n, _ = naive[count]
        print(
            f"{count:>7} {terms:>7} {compile_s:>9.2f} {engine:>13,.0f} {matched:>8} "
            f"{slow:>12,.1f} {slow_n:>6} {engine / slow:>8.0f}x {base / engine:>9.2f}x"
        )


def bench_streams() -> None:
    files = sorted(STREAMS.glob("*.jsonl"))
    if not files:
        print(f"streams: skipped ({STREAMS} not found)")
        return
    script = (
        "import itertools, json, sys, yaml\n"
        "from monitor.topics import compile_topics\n"
        "from monitor.topics.report import read_documents, match_json\n"
        "from monitor.topics.spec import TopicConfig\n"
        "cfg = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n"
        "topics = compile_topics([TopicConfig.model_validate(t) for t in cfg['topics']])\n"
        "lines = itertools.chain.from_iterable(open(f, encoding='utf-8') for f in sys.argv[2:])\n"
        "out = sys.stdout\n"
        "for doc_id, doc in read_documents(lines):\n"
        "    out.write(json.dumps(match_json(doc_id, topics.match(doc)), ensure_ascii=False))\n"
        "    out.write('\\n')\n"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "config" / "monitor.yaml"), *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    )
    elapsed = time.perf_counter() - start
    lines = result.stdout.splitlines()
    hits = sum(1 for line in lines if '"topics": []' not in line)
    print(
        f"streams: {len(lines):,} items, {hits} with a topic, {elapsed:.1f} s end to end "
        f"(fresh process: start-up, read, compile, match, JSON out)"
    )


def measure_once(config: Path, articles: int, stream_items: int) -> dict[str, float]:
    """CPU µs per article of whatever ``monitor`` is importable: generated and real text."""
    import yaml

    from monitor.topics.report import read_documents

    rng = random.Random(SEED)
    vocab = make_vocabulary(rng)
    docs = make_articles(rng, vocab, articles)
    out: dict[str, float] = {}
    for count in (100, 1_000):
        compiled = compile_topics(make_topics(random.Random(SEED + count), vocab, count))
        for doc in docs[:500]:  # warm the word caches, as in a running daemon
            compiled.match(doc)
        start = time.process_time()
        for doc in docs:
            compiled.match(doc)
        out[f"generated, {count} topics"] = (time.process_time() - start) / len(docs) * 1e6
    files = sorted(STREAMS.glob("*.jsonl"))
    if files:
        shape = yaml.safe_load(config.read_text(encoding="utf-8"))
        topics = compile_topics([TopicConfig.model_validate(t) for t in shape["topics"]])
        lines = itertools.chain.from_iterable(f.open(encoding="utf-8") for f in files)
        # every n-th item of all streams, so each stream is in the sample
        items = [d for i, (_, d) in enumerate(read_documents(lines)) if i % 5 == 0]
        items = items[:stream_items]
        for doc in items[:500]:
            topics.match(doc)
        start = time.process_time()
        for doc in items:
            topics.match(doc)
        out[f"streams, {config.name}"] = (time.process_time() - start) / len(items) * 1e6
    return out


def compare(ref: str, reps: int, articles: int, stream_items: int) -> None:
    """Medians of interleaved runs of the engine at ``ref`` and of the working tree.

    Each run is a fresh process; both sides match the same articles with the same
    topics, including ``ref``'s config/monitor.yaml (the old topics on both engines: the
    rule language's cost, not the new topics').
    """
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "monitor", "config/monitor.yaml"],
            capture_output=True,
            check=True,
        ).stdout
        archive_path = Path(tmp) / "old.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(old, filter="data")
        config = old / "config" / "monitor.yaml"
        sides = {"before": old, "after": ROOT}
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for rep in range(reps):
            for side in ("before", "after") if rep % 2 == 0 else ("after", "before"):
                result = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--measure-once",
                        str(config),
                        "--articles",
                        str(articles),
                        "--stream-items",
                        str(stream_items),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "PYTHONPATH": str(sides[side])},
                )
                runs[side].append(json.loads(result.stdout))
        print(f"{reps} interleaved runs a side ({ref} vs working tree), CPU µs per article:")
        print(f"{'what':<34} {'before':>8} {'after':>8} {'change':>8}")
        for key in runs["before"][0]:
            before = statistics.median(r[key] for r in runs["before"])
            after = statistics.median(r[key] for r in runs["after"])
            print(f"{key:<34} {before:>8.1f} {after:>8.1f} {after / before - 1:>+8.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="GIT_REF", help="engine at REF vs working tree")
    parser.add_argument("--reps", type=int, default=7, help="with --compare: runs a side")
    parser.add_argument("--stream-items", type=int, default=8_000)
    parser.add_argument("--measure-once", metavar="CONFIG", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--naive-budget", type=float, default=8.0, help="seconds per count")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best kept")
    parser.add_argument("--quick", action="store_true", help="2,000 articles, 2 s baselines")
    args = parser.parse_args()
    if args.measure_once:
        print(json.dumps(measure_once(args.measure_once, args.articles, args.stream_items)))
        return
    if args.compare:
        compare(args.compare, args.reps, min(args.articles, 4_000), args.stream_items)
        return
    if args.quick:
        args.articles, args.naive_budget = 2_000, 2.0
    bench_topics(args.articles, (10, 100, 1_000, 10_000), args.naive_budget, args.rounds)
    bench_streams()


if __name__ == "__main__":
    main()
