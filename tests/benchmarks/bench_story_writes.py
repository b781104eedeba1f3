"""Benchmark: what storing one match costs when its topic has many stories in many feeds.

Not a test (pytest does not collect it). Two measures, CPU time in one process on a
SQLite file, each a median over interleaved runs of this tree and (``--compare DIR``)
another tree of the code:

* ``facts``: reading the facts of one match (``_story_facts``) while the topic has
  ``--alerts`` stories in its window, each carried by ``--feeds`` feeds;
* ``join``: one more feed joining a story already carried by ``--feeds`` feeds
  (``join_story``), no confirm or hot rule.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_story_writes.py \\
        [--alerts 500] [--feeds 300] [--rounds 5] [--compare DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)


def _one(alerts: int, feeds: int, reps: int) -> tuple[float, float]:
    """(ms of CPU per match's facts, ms per join) in this process's tree."""
    from sqlalchemy import insert

    from monitor import storage
    from monitor.alerts.policy import AlertPolicy
    from monitor.storage import story_alerts
    from monitor.storage.models import AlertRow
    from monitor.storage.signals import join_story

    names = [f"feed-{i}" for i in range(feeds)]
    outlets = [
        {"feed": f, "at": "2026-01-20T12:00:00Z", "outlet": f, "kind": None, "country": None}
        for f in names
    ]
    rows = [
        {
            "id": f"a{i}",
            "seq": i,
            "kind": "topic",
            "topic": "t",
            "topic_name": "t",
            "story_key": f"s{i}",
            "title_key": "x y z",
            "title": f"story {i}",
            "summary": "",
            "url": None,
            "feed": names[0],
            "feeds": names,
            "language": "en",
            "published": NOW,
            "detected_at": NOW - timedelta(minutes=i % 60),
            "evidence": [],
            "outlets": outlets,
        }
        for i in range(alerts)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        engine = storage.open_database(f"sqlite:///{tmp}/m.db")
        with engine.begin() as conn:
            conn.execute(insert(AlertRow), rows)
        policy = AlertPolicy()
        with engine.begin() as conn:
            story_alerts._story_facts(conn, "t", "none", "en", policy, NOW)  # warm
            started = time.process_time()
            for _ in range(reps):
                story_alerts._story_facts(conn, "t", "none", "en", policy, NOW)
            facts = (time.process_time() - started) / reps
            started = time.process_time()
            for i in range(reps):
                join_story(conn, "a0", f"new-{i}", policy, (), NOW)
            join = (time.process_time() - started) / reps
        engine.dispose()
    return facts * 1000, join * 1000


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        facts, join = _one(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        print(f"{facts} {join}")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--reps", type=int, default=20, help="matches and joins per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    trees = {"this": REPO, **({"before": args.compare} if args.compare else {})}
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            env = {**os.environ, "PYTHONPATH": str(trees[name])}
            argv = [sys.executable, __file__, "_one", str(args.alerts), str(args.feeds)]
            out = subprocess.run(
                [*argv, str(args.reps)], env=env, capture_output=True, text=True, check=True
            ).stdout.split()
            got[name].append((float(out[0]), float(out[1])))
    print(f"{args.alerts} stories in the window, each in {args.feeds} feeds; {args.rounds} rounds")
    print("| tree | facts of one match (CPU) | one feed joining a story (CPU) |")
    print("|---|---:|---:|")
    for name, runs in got.items():
        facts = statistics.median(f for f, _ in runs)
        join = statistics.median(j for _, j in runs)
        print(f"| {name} | {facts:.2f} ms | {join:.2f} ms |")


if __name__ == "__main__":
    main()
