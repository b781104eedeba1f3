"""Measure near-duplicate-title grouping (monitor.alerts.stories) on the shared news streams.

Not a test: prints, for every pair of titles of the same language published within
48 hours of each other (distinct fingerprints), how many pairs score in each band of a
similarity method, and random samples of pairs per band to read.

    PYTHONPATH=. python tests/benchmarks/story_thresholds.py [--scorer sort|set] [--samples 8]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from rapidfuzz import fuzz, process

from monitor.alerts.stories import MIN_WORDS, THRESHOLD, same_story_fingerprints, title_fingerprint

STREAMS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "streams"
WINDOW = timedelta(hours=48)
BANDS = [(b, b + 5) for b in range(60, 100, 5)] + [(100, 101)]


def parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def load(language: str) -> list[tuple[datetime, str, str, str]]:
    rows = []
    seen = set()
    for path in sorted(STREAMS.glob(f"{language}-*.jsonl")):
        for line in path.open(encoding="utf-8"):
            item = json.loads(line)
            when = parse_time(item.get("published") or "")
            title = item.get("title") or ""
            if when is None or not title:
                continue
            fp = title_fingerprint(title, language)
            key = (fp, item.get("source"))
            if key in seen:  # the same headline polled again by the same source
                continue
            seen.add(key)
            rows.append((when, title, fp, item.get("source", "")))
    rows.sort(key=lambda r: r[0])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scorer", choices=["sort", "set"], default="sort")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--languages", default="en,ru")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--near", type=int, default=30, help="samples just below/above")
    args = parser.parse_args()
    scorer = fuzz.token_sort_ratio if args.scorer == "sort" else fuzz.token_set_ratio
    rng = random.Random(5)
    for language in args.languages.split(","):
        rows = load(language)
        times = [r[0] for r in rows]
        fps = [r[2] for r in rows]
        bands: dict[tuple[int, int], list[tuple[int, int, float]]] = collections.defaultdict(list)
        total = 0
        for i, (when, _title, fp, _src) in enumerate(rows):
            end = bisect.bisect_right(times, when + WINDOW, lo=i + 1)
            if end <= i + 1 or len(fp.split()) < MIN_WORDS:
                continue
            window = fps[i + 1 : end]
            total += len(window)
            for _match, score, j in process.extract(
                fp, window, scorer=scorer, score_cutoff=60, limit=None
            ):
                if fps[i + 1 + j] == fp or len(fps[i + 1 + j].split()) < MIN_WORDS:
                    continue
                band = next(b for b in BANDS if b[0] <= score < b[1])
                bands[band].append((i, i + 1 + j, score))
        print(f"== {language}: {len(rows)} titles, {total} pairs within 48 h ({args.scorer})")
        above = [p for band in bands.values() for p in band if p[2] >= args.threshold]
        merged = [p for p in above if same_story_fingerprints(fps[p[0]], fps[p[1]])]
        cross = sum(1 for a, b, _ in merged if rows[a][3] != rows[b][3])
        print(
            f"  >= {args.threshold}: {len(above)} pairs; same_story(): {len(merged)} "
            f"({cross} across sources; {len(above) - len(merged)} kept apart by negation)"
        )
        for lo, hi in ((args.threshold - 4, args.threshold), (args.threshold, args.threshold + 4)):
            near = [p for band in bands.values() for p in band if lo <= p[2] < hi]
            print(f"-- samples [{lo},{hi}): {len(near)} pairs")
            for a, b, score in rng.sample(near, min(args.near, len(near))):
                print(f"  {score:5.1f}  {rows[a][1][:110]}\n         {rows[b][1][:110]}")
        for band in BANDS:
            pairs = bands.get(band, [])
            cross = sum(1 for a, b, _ in pairs if rows[a][3] != rows[b][3])
            print(f"  [{band[0]:3d},{band[1]:3d}): {len(pairs):6d} pairs ({cross} across sources)")
        for band in BANDS:
            pairs = bands.get(band, [])
            if not pairs:
                continue
            print(f"-- samples [{band[0]},{band[1]})")
            for a, b, score in rng.sample(pairs, min(args.samples, len(pairs))):
                print(f"  {score:5.1f}  {rows[a][1][:110]}\n         {rows[b][1][:110]}")


if __name__ == "__main__":
    main()
