"""Whether the daemon's memory is shown flat: several runs of bench_daemon_memory.py a side.

One run's slope says little (runs of the same code differ by ±0.15 MiB / 100 ticks), so
this reads the ``--json`` files of several runs per side and judges the side as a whole:

- the slope of each run (between ticks, over its second half, MiB / 100 ticks), their
  median and how many are above zero;
- an upper bound of the median slope: the order statistic that the true median lies
  below with at least CONFIDENCE (for 6 runs, the second highest: 89 %);
- **flat** only when that bound, carried over the whole soak (slope × ticks / 100), is
  within the median spread of a run's levels (the interquartile range of its last tenth:
  how much one level differs from the next anyway). A side whose typical run rises, or
  whose runs disagree too much to bound the rise, is **not shown flat**; fewer than
  MIN_RUNS runs prove nothing either way.

    python tests/benchmarks/daemon_memory_verdict.py main=/tmp/a/grow*.json mine=/tmp/b/*.json
"""

from __future__ import annotations

import glob
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_RUNS = 6
CONFIDENCE = 0.85
ROW = "polling, between ticks"


@dataclass(frozen=True)
class Side:
    name: str
    slopes: tuple[float, ...]
    spreads: tuple[float, ...]
    idles: tuple[float, ...]
    ticks: int


def median_upper_bound(values: tuple[float, ...], confidence: float = CONFIDENCE) -> float:
    """The smallest order statistic x(k) with P(median <= x(k)) >= confidence: fewer than
    k of n values fall below the median with that probability (binomial, p = 1/2)."""
    ordered = sorted(values)
    n = len(ordered)
    below = 0.0
    for k in range(1, n + 1):
        below += math.comb(n, k - 1) / 2**n  # P(exactly k - 1 values below the median)
        if below >= confidence:
            return ordered[k - 1]
    return ordered[-1]


def verdict(side: Side) -> str:
    """'flat', 'not shown flat' or 'too few runs' (pure)."""
    if len(side.slopes) < MIN_RUNS:
        return "too few runs"
    rise = median_upper_bound(side.slopes) * side.ticks / 100
    return "flat" if rise <= statistics.median(side.spreads) else "not shown flat"


def load(name: str, pattern: str) -> Side:
    runs = [json.loads(Path(path).read_text()) for path in sorted(glob.glob(pattern))]
    rows = [run[ROW] for run in runs]
    return Side(
        name=name,
        slopes=tuple(r["slope"] for r in rows),
        spreads=tuple(r["spread"] for r in rows),
        idles=tuple(r["idle"] for r in rows),
        ticks=min((int(run["ticks"]) for run in runs), default=0),
    )


def main() -> None:
    print(
        f"{'side':12} {'runs':>4} {'median slope':>12} {'> 0':>5} {'bound':>7} "
        f"{'bound × soak':>12} {'spread':>7} {'idle':>6}  verdict"
    )
    for arg in sys.argv[1:]:
        name, _, pattern = arg.partition("=")
        side = load(name, pattern)
        if not side.slopes:
            print(f"{name:12} no runs match {pattern}")
            continue
        bound = median_upper_bound(side.slopes)
        print(
            f"{name:12} {len(side.slopes):4} {statistics.median(side.slopes):+12.3f} "
            f"{sum(s > 0 for s in side.slopes):5} {bound:+7.3f} "
            f"{bound * side.ticks / 100:+12.2f} {statistics.median(side.spreads):7.2f} "
            f"{statistics.median(side.idles):6.1f}  {verdict(side)}"
        )
    print(
        "slopes: MiB / 100 ticks between ticks over each run's second half; bound: the\n"
        f"median slope's upper bound at {CONFIDENCE:.0%} (an order statistic); bound × soak:\n"
        "the rise it allows over all the ticks, MiB; flat: that rise within the median\n"
        f"spread of a run's last-tenth levels, over at least {MIN_RUNS} runs."
    )


if __name__ == "__main__":
    main()
