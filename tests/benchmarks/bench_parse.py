"""Parse cost per feed: feedparser's path vs the fast path vs the floor, and normalize.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_parse.py [--reps N]`` from the checkout,
with ../shared/feeds beside it. Two corpora: the real feeds of ../shared/feeds
(publishers/ and third_party_regenerated/) and the generated feeds ``bench_poll.py``
serves (``feedserver.Feed``, 20 items each). Per corpus, per rep, in an order that
rotates from rep to rep (interleaved), the CPU time of this process for:

* ``feedparser``: ``parse_bytes`` as it was, feedparser alone (``parse_feedparser_only``);
* ``fast``: ``parse_bytes`` as polling runs it (the fast path, feedparser for what it
  declines, the same guards in front);
* ``floor lxml``: a bare ``lxml.etree.fromstring`` of the body and one pass over its
  elements, nothing kept (what no parser on lxml can beat);
* ``floor fastfeedparser``: a bare ``fastfeedparser.parse``, when it is installed;
* ``normalize``: ``normalize_feed`` over the parsed feeds (HTML to text, links, keys).

Prints medians per feed and the ratios; what the fast path declined is counted.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from monitor.errors import ParseError
from monitor.parsing.feed import parse_bytes, parse_fast_only, parse_feedparser_only
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.xml_feed import Declined
from monitor.types import ParsedFeed

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / ".." / "shared" / "feeds"
URL = "https://example.org/feed"

sys.path.insert(0, str(HERE))
from feedserver import Feed  # noqa: E402

Doc = tuple[bytes, dict[str, str]]


def shared_docs() -> list[Doc]:
    paths: list[Path] = []
    for folder in ("publishers", "third_party_regenerated"):
        root = (SHARED / folder).resolve()
        if root.exists():
            paths += sorted(p for p in root.iterdir() if p.is_file())
    return [(p.read_bytes(), {}) for p in paths]


def generated_docs(n: int) -> list[Doc]:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
    return [(Feed(i, start).body, headers) for i in range(n)]


def _each(parse: Callable[[bytes, dict[str, str]], object]) -> Callable[[list[Doc]], None]:
    def run(docs: list[Doc]) -> None:
        for body, headers in docs:
            with contextlib.suppress(ParseError, etree.XMLSyntaxError):
                parse(body, headers)

    return run


def _lxml_floor(body: bytes, headers: dict[str, str]) -> None:
    for _ in etree.fromstring(body, etree.XMLParser(resolve_entities=False)).iter():
        pass


def contenders() -> dict[str, Callable[[list[Doc]], None]]:
    found: dict[str, Callable[[list[Doc]], None]] = {
        "feedparser": _each(lambda b, h: parse_feedparser_only(b, url=URL, headers=h)),
        "fast": _each(lambda b, h: parse_bytes(b, url=URL, headers=h)),
        "floor lxml": _each(_lxml_floor),
    }
    try:
        import fastfeedparser  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:

        def bare(body: bytes, headers: dict[str, str]) -> None:
            # its own errors on odd bodies are skipped, as in the others
            with contextlib.suppress(Exception):
                fastfeedparser.parse(body)

        found["floor fastfeedparser"] = _each(bare)
    return found


def measure(name: str, docs: list[Doc], reps: int) -> None:
    now = datetime.now(UTC)
    declined = 0
    for body, headers in docs:
        try:
            parse_fast_only(body, url=URL, headers=headers)
        except (Declined, ParseError):
            declined += 1
    parsed: list[ParsedFeed] = []
    for body, headers in docs:
        try:
            parsed.append(parse_bytes(body, url=URL, headers=headers))
        except ParseError:
            continue
    entries = sum(len(p.entries) for p in parsed)

    def normalize(_: list[Doc]) -> None:
        for feed in parsed:
            normalize_feed("bench", feed, language=None, now=now)

    runs = {**contenders(), "normalize": normalize}
    times: dict[str, list[float]] = {k: [] for k in runs}
    order = list(runs)
    for rep in range(reps):
        shift = rep % len(order)
        for key in order[shift:] + order[:shift]:
            started = time.process_time()
            runs[key](docs)
            times[key].append((time.process_time() - started) / len(docs))
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(
        f"\n{name}: {len(docs)} feeds, {entries} entries, {declined} declined by the fast "
        f"path (to feedparser); CPU ms per feed, median of {reps} interleaved reps"
    )
    for key, value in med.items():
        print(f"  {key:22s} {value:8.3f} ms")
    print(f"  feedparser ÷ fast      {med['feedparser'] / med['fast']:8.1f}×")
    print(f"  fast ÷ floor lxml      {med['fast'] / med['floor lxml']:8.1f}×")
    if "floor fastfeedparser" in med:
        print(f"  fast ÷ fastfeedparser  {med['fast'] / med['floor fastfeedparser']:8.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--generated", type=int, default=300, help="generated feeds")
    args = parser.parse_args()
    docs = shared_docs()
    if docs:
        measure("../shared/feeds (publishers, regenerated)", docs, args.reps)
    else:
        print("../shared/feeds is absent: real feeds skipped")
    measure("generated bench feeds", generated_docs(args.generated), args.reps)


if __name__ == "__main__":
    main()
