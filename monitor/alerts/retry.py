"""The retry schedule of alert deliveries: how long to wait after a failed attempt.

Pure: the random source is passed in, there is no clock. Claiming, storing the next
attempt time and dead-lettering are the outbox's job, not this module's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta

JITTER = 0.2
"""±20 %: spreads retries of many deliveries that failed together (a webhook outage)."""


def retry_delay(
    attempts: int, schedule: Sequence[timedelta], rng: random.Random
) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` failed ones, or None.

    ``schedule[k]`` is the nominal wait after the (k+1)-th failure; the result is that
    wait times a uniform factor in [0.8, 1.2]. None means the schedule is exhausted:
    the delivery is dead-lettered. ``attempts == 0`` (nothing failed yet) waits zero.
    """
    if attempts < 0:
        raise ValueError(f"attempts must be >= 0, not {attempts}")
    if attempts == 0:
        return timedelta(0)
    if attempts > len(schedule):
        return None
    nominal = schedule[attempts - 1]
    factor = rng.uniform(1.0 - JITTER, 1.0 + JITTER)
    return timedelta(seconds=nominal.total_seconds() * factor)


def total_budget(schedule: Sequence[timedelta]) -> timedelta:
    """The nominal time from the first failure to the dead letter (for docs and checks)."""
    return sum(schedule, timedelta(0))
