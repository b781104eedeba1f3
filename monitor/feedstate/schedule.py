"""When to poll a feed next: its interval with jitter, the server's hints, backoff.

Pure: ``now`` and the random source are passed in, nothing is read from a clock.
Jitter (±10 %) spreads feeds that share an interval so they do not all fall due in the
same tick. A server's hint (Retry-After, Cache-Control max-age, Expires, RSS ``<ttl>``)
can only push the next poll later, never earlier, and is capped at :data:`MAX_HINT`.
Failures back off exponentially: ``min(24 h, interval × 2^(n−1)) × U(0.9, 1.1)``.

This module does not decide what counts as a failure, nor raise "feed down" alerts.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_HINT = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=24)
JITTER = 0.10


def _jitter(rng: random.Random) -> float:
    return rng.uniform(1.0 - JITTER, 1.0 + JITTER)


def _not_before(now: datetime, hint: datetime | None, ttl: timedelta | None) -> datetime:
    """The earliest moment the server allows, hints capped at 24 h from now."""
    floor = now
    if hint is not None:
        floor = max(floor, min(hint, now + MAX_HINT))
    if ttl is not None and ttl > timedelta(0):
        floor = max(floor, now + min(ttl, MAX_HINT))
    return floor


def next_poll_after_success(
    now: datetime,
    interval: timedelta,
    *,
    hint: datetime | None,
    ttl: timedelta | None,
    rng: random.Random,
) -> datetime:
    """The feed's interval from now, jittered, but never before the server asked."""
    planned = now + interval * _jitter(rng)
    return max(planned, _not_before(now, hint, ttl))


def base_backoff(interval: timedelta, errors: int) -> timedelta:
    """``min(24 h, interval × 2^(errors−1))`` before jitter; ``errors`` counts from 1."""
    exponent = min(max(0, errors - 1), 64)
    # In float seconds: interval × 2^n overflows timedelta long before the cap is moot.
    seconds = interval.total_seconds() * 2.0**exponent
    return min(MAX_BACKOFF, timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds())))


def backoff_delay(interval: timedelta, errors: int, rng: random.Random) -> timedelta:
    """How long to wait after the ``errors``-th consecutive failure."""
    return base_backoff(interval, errors) * _jitter(rng)


def next_poll_after_failure(
    now: datetime,
    interval: timedelta,
    errors: int,
    *,
    hint: datetime | None,
    rng: random.Random,
) -> datetime:
    """Back off after a failure, and wait at least as long as a Retry-After asked."""
    planned = now + backoff_delay(interval, errors, rng)
    return max(planned, _not_before(now, hint, None))
