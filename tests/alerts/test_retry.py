"""The retry schedule: seconds first, then minutes, about a day in all, with jitter."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from monitor.alerts.retry import retry_delay, total_budget
from monitor.config.schema import RetryConfig

SCHEDULE = RetryConfig().schedule


def test_each_delay_is_the_schedule_within_20_percent():
    rng = random.Random(1)
    for attempts, nominal in enumerate(SCHEDULE, start=1):
        delays = [retry_delay(attempts, SCHEDULE, rng) for _ in range(200)]
        seconds = [d.total_seconds() for d in delays if d is not None]
        assert len(seconds) == 200
        assert min(seconds) >= nominal.total_seconds() * 0.8
        assert max(seconds) <= nominal.total_seconds() * 1.2
        assert max(seconds) - min(seconds) > nominal.total_seconds() * 0.2  # really jittered


def test_exhausted_schedule_means_dead_letter():
    rng = random.Random(2)
    assert retry_delay(len(SCHEDULE), SCHEDULE, rng) is not None
    assert retry_delay(len(SCHEDULE) + 1, SCHEDULE, rng) is None
    assert retry_delay(1, [], rng) is None


def test_default_schedule_starts_in_seconds_and_lasts_about_a_day():
    assert SCHEDULE[0] <= timedelta(seconds=10)
    assert timedelta(hours=20) <= total_budget(SCHEDULE) <= timedelta(hours=30)


def test_no_failure_yet_means_no_wait_and_negative_is_a_bug():
    assert retry_delay(0, SCHEDULE, random.Random(3)) == timedelta(0)
    with pytest.raises(ValueError):
        retry_delay(-1, SCHEDULE, random.Random(3))
