"""Parse cost per feed: in this process vs in a worker process with a deadline.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_parse.py [ROUNDS]`` from the checkout,
with ../shared/feeds/publishers beside it. Prints medians per feed for parse_bytes
(in-process), ParserPool.parse (worker: pickling the bytes out and the ParsedFeed back), and
normalize_feed, plus the one-off cost of starting a worker.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import ParseError
from monitor.parsing.feed import parse_bytes
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.pool import ParserPool

FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeds" / "publishers"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    docs = [(p.name, p.read_bytes()) for p in sorted(FEEDS.resolve().iterdir()) if p.is_file()]
    now = datetime.now(UTC)

    started = time.perf_counter()
    pool = ParserPool(size=1)
    pool.parse(docs[0][1], url="https://example.org/", headers={}, deadline=30)
    print(f"worker start + first parse: {(time.perf_counter() - started) * 1000:.0f} ms")
    pool.shutdown()

    workers = ParserPool()
    workers.parse(docs[0][1], url="https://example.org/", headers={}, deadline=30)  # warm it
    timings: dict[str, list[float]] = {"in-process": [], "worker": [], "normalize": []}
    entries = 0
    for _ in range(rounds):
        for mode in ("in-process", "worker"):
            started = time.perf_counter()
            for _name, body in docs:
                try:
                    if mode == "worker":
                        workers.parse(body, url="https://example.org/", headers={}, deadline=30)
                    else:
                        parse_bytes(body, url="https://example.org/", headers={})
                except ParseError:
                    pass
            timings[mode].append((time.perf_counter() - started) / len(docs))
        started = time.perf_counter()
        entries = 0
        for _name, body in docs:
            try:
                parsed = parse_bytes(body, url="https://example.org/", headers={})
            except ParseError:
                continue
            entries += len(normalize_feed("bench", parsed, language=None, now=now))
        # normalize alone: subtract the in-process parse of the same round
        timings["normalize"].append(
            (time.perf_counter() - started) / len(docs) - timings["in-process"][-1]
        )
    workers.shutdown()
    print(f"{len(docs)} publisher feeds, {entries} articles, {rounds} rounds (medians per feed):")
    for mode, values in timings.items():
        print(f"  {mode:11s} {statistics.median(values) * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
