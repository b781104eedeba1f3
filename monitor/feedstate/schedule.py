"""When to poll a feed next: its interval with jitter, the server's hints, backoff.

Pure: ``now`` and the random source are passed in, nothing is read from a clock.
The configured interval is a promise (SPEC.md, "Timeliness and health"):

- Jitter (±10 %) spreads feeds that share an interval so they do not all fall due in
  the same tick.
- Cache hints (RSS ``<ttl>``, Cache-Control max-age, Expires) lengthen the interval
  only where the operator opted in, and then by at most ``max_hint_delay``.
- Retry-After on 429/503 is always honoured, capped at :data:`MAX_RETRY_AFTER`.
- Failures back off exponentially, but a failing feed is tried again at least every
  ``max(interval, 30m)``: ``min(max(interval, 30m), interval × 2^(n−1)) × U(0.9, 1.1)``.

Each answer carries its :class:`~monitor.types.NextPollReason`, which ``monitor feeds``
shows. This module does not decide what counts as a failure, nor raise "feed down".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.types import NextPollReason

MAX_RETRY_AFTER = timedelta(hours=24)
MIN_BACKOFF_CAP = timedelta(minutes=30)
"""A failing feed is retried at least this often (or at its interval, if longer)."""
JITTER = 0.10


@dataclass(frozen=True, slots=True)
class Schedule:
    """The next poll and why it is then."""

    at: datetime | None
    reason: NextPollReason


def _jitter(rng: random.Random) -> float:
    return rng.uniform(1.0 - JITTER, 1.0 + JITTER)


def _cache_floor(
    now: datetime, hint: datetime | None, ttl: timedelta | None, cap: timedelta
) -> datetime | None:
    """The latest moment the feed's cache hints ask for, at most ``cap`` from now."""
    floor: datetime | None = None
    if hint is not None:
        floor = hint
    if ttl is not None and ttl > timedelta(0):
        floor = max(floor, now + ttl) if floor is not None else now + ttl
    if floor is None:
        return None
    return min(floor, now + cap)


def next_poll_after_success(
    now: datetime,
    interval: timedelta,
    *,
    hint: datetime | None,
    ttl: timedelta | None,
    rng: random.Random,
    respect_hints: bool = False,
    max_hint_delay: timedelta = timedelta(hours=1),
) -> Schedule:
    """The feed's interval from now, jittered; later only where the operator lets the
    server's cache hints (``hint``: Cache-Control/Expires, ``ttl``) say so."""
    planned = now + interval * _jitter(rng)
    if respect_hints:
        floor = _cache_floor(now, hint, ttl, max_hint_delay)
        if floor is not None and floor > planned:
            return Schedule(floor, NextPollReason.CACHE_HINT)
    return Schedule(planned, NextPollReason.INTERVAL)


def backoff_cap(interval: timedelta) -> timedelta:
    """The longest wait between two attempts of a failing feed."""
    return max(interval, MIN_BACKOFF_CAP)


def base_backoff(interval: timedelta, errors: int) -> timedelta:
    """``min(max(interval, 30m), interval × 2^(errors−1))`` before jitter; ``errors``
    counts from 1."""
    cap = backoff_cap(interval)
    exponent = min(max(0, errors - 1), 64)
    # In float seconds: interval × 2^n overflows timedelta long before the cap is moot.
    seconds = interval.total_seconds() * 2.0**exponent
    return min(cap, timedelta(seconds=min(seconds, cap.total_seconds())))


def backoff_delay(interval: timedelta, errors: int, rng: random.Random) -> timedelta:
    """How long to wait after the ``errors``-th consecutive failure (never past the cap,
    jitter included)."""
    return min(base_backoff(interval, errors) * _jitter(rng), backoff_cap(interval))


def next_poll_after_failure(
    now: datetime,
    interval: timedelta,
    errors: int,
    *,
    retry_after: datetime | None,
    rng: random.Random,
) -> Schedule:
    """Back off after a failure; wait at least as long as a Retry-After asked (≤ 24 h)."""
    planned = now + backoff_delay(interval, errors, rng)
    if retry_after is not None:
        asked = min(retry_after, now + MAX_RETRY_AFTER)
        if asked > planned:
            return Schedule(asked, NextPollReason.RETRY_AFTER)
    return Schedule(planned, NextPollReason.BACKOFF)
