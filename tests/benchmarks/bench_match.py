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

Matching rates are CPU time of this process (``time.process_time``), medians of
interleaved reps (engine, floor and naive take turns): the machine is shared, and wall
time swings with other people's work. The word caches are warmed on 2,000 *other*
articles; the first rep still meets the timed articles' own new words and is printed
apart ("first rep"), the later reps see words the first one learned. What is compiled
and warmed is frozen out of the cyclic collector's walks before the reps (``gc.freeze``),
as in every process of the monitor that matches. The streams run times whole child
processes (wall, CPU, peak RSS), start-up included.

Not run by pytest (tests/benchmarks is excluded); figures go to tests/benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
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
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
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


def inject_matches(
    rng: random.Random, docs: Sequence[Document], topics: Sequence[TopicConfig], share: float
) -> list[Document]:
    """A copy of ``docs`` where ``share`` of them carry the terms one topic needs (the
    first term of each ``all`` group and one ``any`` term), at random places in the
    text: a corpus where about that share matches, so evaluation and evidence are timed."""
    out = []
    for doc in docs:
        if rng.random() >= share:
            out.append(doc)
            continue
        topic = rng.choice(topics)
        wanted = [group[0] for group in topic.all] + list(topic.any[:1])
        words = (doc.content or "").split()
        for term in wanted:
            word = term[:-1] + "ov" if term.endswith("*") else term
            words.insert(rng.randrange(len(words) + 1), word)
        out.append(replace(doc, content=" ".join(words)))
    return out


_COMBINING = re.compile(r"[\u0300-\u036f]")


def fold_text(text: str) -> str:
    """Whole-text normalization: compatibility forms, no diacritics, no case."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


class Floor:
    """The floor of the job: fold the whole text once, one Aho-Corasick pass over every
    term of every topic (word boundaries checked), no stemming, no rule evaluation: what
    any engine must at least do to find which terms occur."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        for topic in topics:
            for term in [*(t for g in topic.all for t in g), *topic.any, *topic.none]:
                key = fold_text(term.rstrip("*"))
                # the value: how far back the key begins, for the boundary check
                self.automaton.add_word(key, len(key))
        self.automaton.make_automaton()

    def match(self, doc: Document) -> int:
        # a space either side: every hit has a character before and after it. The end
        # is checked first: more hits fail there (a name inside a longer word) than at
        # the start (74 hits an article at 10,000 topics, 48 end a word, 62 begin one)
        text = " " + fold_text(f"{doc.title}\n{doc.summary}\n{doc.content}") + " "
        found = 0
        for end, length in self.automaton.iter(text):
            if not text[end + 1].isalnum() and not text[end - length].isalnum():
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
        matched += (1 if result else 0) if isinstance(result, list) else int(result)
        done += 1
        if time.process_time() - start > budget:
            break
    return done / (time.process_time() - start), done, matched


def bench_topics(
    articles: int, counts: Sequence[int], naive_budget: float, reps: int, share: float
) -> None:
    rng = random.Random(SEED)
    vocab = make_vocabulary(rng)
    base = make_articles(rng, vocab, articles)
    # Warm the word caches as a running daemon has them, on *other* articles than the
    # timed ones (same vocabulary): timing articles the caches were filled with would
    # flatter the engine.
    warm_docs = make_articles(random.Random(SEED + 1), vocab, min(articles, 2_000))
    warm = compile_topics(make_topics(random.Random(SEED), vocab, 10))
    for doc in warm_docs:
        warm.match(doc)
    sets = []
    for count in counts:
        topics = make_topics(random.Random(SEED + count), vocab, count)
        docs = inject_matches(random.Random(SEED + count), base, topics, share)
        terms = sum(len(t.any) + sum(len(g) for g in t.all) + len(t.none) for t in topics)
        start = time.process_time()
        compiled = compile_topics(topics)
        compile_s = time.process_time() - start
        # the engine remembers which terms each word it has seen holds: warm that on the
        # other articles too (a daemon's parser worker keeps its compiled topics); the
        # first rep still meets the timed articles' own new words (printed apart)
        for doc in warm_docs:
            compiled.match(doc)
        sets.append((count, terms, compile_s, docs, compiled, Floor(topics), NaiveMatcher(topics)))
    # As every process that matches does once its topics are compiled (monitor match,
    # the parser workers): what lasts is left out of the collector's walks. Else a full
    # collection (~0.3 s over these three compiled sets) lands in whichever rep it meets
    # (the first rep at 1,000 topics read ~10x the floor for it, ~6x without).
    gc.freeze()
    avg = sum(len(d.title) + len(d.content) + 1 for d in sets[0][3]) / articles
    print(f"{articles} articles, {avg:.0f} characters on average, en/de/ru; {reps} reps")
    # Interleaved reps, medians: engine, floor and naive take turns per count and per
    # rep, so a load spike on this shared machine hits all of them alike.
    runs: dict[tuple[str, int], list[tuple[float, int, int]]] = {}
    for rep in range(reps):
        for count, _, _, docs, compiled, floor, naive in sets:
            sides = [("engine", compiled.match), ("floor", floor.match)]
            for name, fn in sides if rep % 2 == 0 else sides[::-1]:
                runs.setdefault((name, count), []).append(rate(fn, docs, budget=1e9))
            got = rate(naive.match, docs, budget=naive_budget / reps)
            runs.setdefault(("naive", count), []).append(got)

    def med(name: str, count: int) -> tuple[float, int, int]:
        values = runs[(name, count)]
        return (statistics.median(v[0] for v in values), values[0][1], values[0][2])

    print(
        f"{'topics':>7} {'terms':>7} {'compile s':>9} {'engine art/s':>13} {'matched':>8} "
        f"{'floor art/s':>12} {'engine/floor':>12} {'first rep':>9} {'naive art/s':>12} "
        f"{'(n)':>6} {'vs naive':>9} {'time vs 10':>10}"
    )
    first = med("engine", counts[0])[0]
    for count, terms, compile_s, docs, _, _, _ in sets:
        engine, _, matched = med("engine", count)
        floor, _, _ = med("floor", count)
        slow, slow_n, _ = med("naive", count)
        cold = runs[("floor", count)][0][0] / runs[("engine", count)][0][0]
        print(
            f"{count:>7} {terms:>7} {compile_s:>9.2f} {engine:>13,.0f} "
            f"{matched / len(docs):>7.0%} {floor:>12,.0f} {floor / engine:>11.2f}x "
            f"{cold:>8.2f}x {slow:>12,.1f} {slow_n:>6} {engine / slow:>8.0f}x "
            f"{first / engine:>9.2f}x"
        )


FLOOR_SCRIPT = """
import itertools, json, sys, unicodedata
import re
import ahocorasick, yaml
COMBINING = re.compile(r"[\\u0300-\\u036f]")
def fold(text):
    return COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()
cfg = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
terms = set()
def walk(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, k)
    elif isinstance(node, list):
        for v in node:
            walk(v, key)
    elif isinstance(node, str) and key in ("all", "any", "none", "terms", "aliases"):
        terms.add(fold(node.strip('"').rstrip("*")))
for topic in cfg["topics"]:
    for k, v in topic.items():
        if k in ("all", "any", "none", "rules", "near", "aliases"):
            walk(v, k if k != "rules" and k != "near" else None)
a = ahocorasick.Automaton()
for t in list(terms):
    a.add_word(t, (t, len(t)))
a.make_automaton()
out = sys.stdout
for line in itertools.chain.from_iterable(open(f, encoding="utf-8") for f in sys.argv[2:]):
    d = json.loads(line)
    text = fold("\\n".join(str(d.get(k) or "") for k in ("title", "summary", "content")))
    text = " " + text + " "
    hits = []
    for end, (key, length) in a.iter(text):
        if not text[end + 1].isalnum() and not text[end - length].isalnum():
            hits.append(key)
    out.write(json.dumps({"id": d.get("id"), "terms": sorted(set(hits))}, ensure_ascii=False))
    out.write("\\n")
"""


def whole_process(argv: list[str], stdin_path: Path | None = None) -> tuple[float, float, float]:
    """Wall s, CPU s (user + system) and peak RSS MiB of one whole process."""
    started = time.monotonic()
    with open(stdin_path or os.devnull, "rb") as stdin:
        proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        # VmHWM of the process after exec (a forked child's ru_maxrss would count this
        # benchmark's own pages), sampled until it exits.
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                try:
                    status_text = Path(f"/proc/{proc.pid}/status").read_text()
                except OSError:
                    return
                for line in status_text.splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{argv[:4]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024


def bench_streams(reps: int) -> None:
    files = sorted(STREAMS.glob("*.jsonl"))
    if not files:
        print(f"streams: skipped ({STREAMS} not found)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        joined = Path(tmp) / "streams.jsonl"
        with joined.open("wb") as out:
            for f in files:
                out.write(f.read_bytes())
        items = sum(1 for _ in joined.open(encoding="utf-8"))
        config = ROOT / "config" / "monitor.yaml"
        monitor = [sys.executable, "-m", "monitor", "match", "--json", "-c", str(config), "-"]
        floor = [sys.executable, "-c", FLOOR_SCRIPT, str(config), str(joined)]
        runs: dict[str, list[tuple[float, float, float]]] = {"monitor match": [], "floor": []}
        for rep in range(reps):
            order = ["monitor match", "floor"] if rep % 2 == 0 else ["floor", "monitor match"]
            for name in order:
                argv = monitor if name == "monitor match" else floor
                runs[name].append(whole_process(argv, joined if argv is monitor else None))
    print(
        f"streams: {items:,} items, whole processes (start-up, read, compile, match, JSON "
        f"out), medians of {reps} interleaved reps"
    )
    print(f"{'':<14} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}")
    for name, values in runs.items():
        wall, cpu, rss = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"{name:<14} {wall:>7.2f} {cpu:>7.2f} {rss:>9.0f}")
    ratio = statistics.median(
        m[0] / f[0] for m, f in zip(runs["monitor match"], runs["floor"], strict=True)
    )
    print(f"monitor match / floor, wall (median of pairs): {ratio:.2f}x")


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
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--naive-budget", type=float, default=8.0, help="seconds per count")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved reps (medians)")
    parser.add_argument("--share", type=float, default=0.3, help="articles made to match")
    parser.add_argument("--counts", default="10,100,1000,10000", help="topic counts")
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
    counts = [int(c) for c in args.counts.split(",") if c]
    if counts:
        bench_topics(args.articles, counts, args.naive_budget, args.rounds, args.share)
    bench_streams(args.rounds)


if __name__ == "__main__":
    main()
