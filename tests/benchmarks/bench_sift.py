"""A parser worker's job, without the pool: sift the generated feeds, pickle the answers back.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_sift.py [--feeds N] [--reps R]
[--compare DIR]`` from the checkout. Each rep is a fresh process (imports and the topics'
compilation are not timed) that runs :func:`monitor.sifting.sift_here` over the ``N``
feeds ``bench_poll.py`` serves (``feedserver.Feed``, the default topics of
config/monitor.yaml), as a worker does on a first poll (nothing known), then pickles and
unpickles every answer (what crosses the pipe to the polling process, whose CPU the
unpickling costs), then advances every even feed (three new items) and sifts those again
with the keys the first poll stored (a re-poll of the changed half). Printed: CPU seconds
of each step, medians over reps; with ``--compare DIR``, the same job run from another
tree of the code in the same reps (alternating), and the ratios.

Not a test (pytest does not collect this folder); ``bench_poll.py`` measures whole polls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
STEPS = ("first poll", "pickle + unpickle", "re-poll, half changed")


def one_rep(feeds: int) -> dict[str, float]:
    """The job in this process (the code the PYTHONPATH names); CPU seconds per step."""
    import pickle

    import yaml
    from pydantic import TypeAdapter

    sys.path.insert(0, str(HERE))
    from feedserver import Feed

    from monitor.sifting import sift_here
    from monitor.topics import compile_topics
    from monitor.topics.spec import TopicConfig

    raw = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text("utf-8"))["topics"]
    topics = compile_topics(TypeAdapter(list[TopicConfig]).validate_python(raw))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    now = datetime(2026, 12, 1, 1, tzinfo=UTC)
    headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
    docs = [Feed(i, start) for i in range(feeds)]

    def sift(feed: Feed, known: dict[str, str | None]) -> object:
        return sift_here(
            feed.body,
            url=f"http://127.0.0.1/feed/{feed.index}.xml",
            headers=headers,
            feed=f"feed-{feed.index}",
            language=None,
            now=now,
            max_entries=500,
            known=known,
            context=topics,
        )

    took: dict[str, float] = {}
    t = time.process_time()
    first = [sift(d, {}) for d in docs]
    took[STEPS[0]] = time.process_time() - t
    t = time.process_time()
    back = [pickle.loads(pickle.dumps(s)) for s in first]
    took[STEPS[1]] = time.process_time() - t
    known = [
        {f.item.article.article_key: f.item.article.content_hash for f in s.fresh} for s in back
    ]
    for d in docs[::2]:
        d.advance()
    t = time.process_time()
    for d, k in zip(docs[::2], known[::2], strict=True):
        sift(d, dict(k))
    took[STEPS[2]] = time.process_time() - t
    return took


def run_tree(tree: Path, feeds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "_rep", str(feeds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_rep":
        print(json.dumps(one_rep(int(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--compare", type=Path, default=None, help="another tree: `before`")
    args = parser.parse_args()
    trees = {"now": REPO} | ({"before": args.compare} if args.compare else {})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for rep in range(args.reps):
        order = list(trees.items())
        if rep % 2:
            order.reverse()
        for name, tree in order:
            runs[name].append(run_tree(tree, args.feeds))
    print(
        f"{args.feeds} feeds, {args.reps} reps, load average {os.getloadavg()[0]:.1f}; "
        "CPU seconds, medians"
    )
    print("| step | " + " | ".join(trees) + (" | now ÷ before |" if args.compare else " |"))
    print("|---|" + "---:|" * (len(trees) + (1 if args.compare else 0)))
    for step in STEPS:
        med = {name: statistics.median(r[step] for r in runs[name]) for name in trees}
        cells = " | ".join(f"{med[name]:.3f}" for name in trees)
        ratio = f" | {med['now'] / med['before']:.2f}×" if args.compare else ""
        print(f"| {step} | {cells}{ratio} |")


if __name__ == "__main__":
    main()
