"""When feeds are polled next: jitter, server hints, exponential backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.feedstate.schedule import (
    backoff_delay,
    base_backoff,
    next_poll_after_failure,
    next_poll_after_success,
)
from monitor.fetching.http_hints import cache_hint, parse_retry_after

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TEN_MIN = timedelta(minutes=10)
DAY = timedelta(hours=24)

intervals = st.integers(min_value=1, max_value=7 * 86400).map(lambda s: timedelta(seconds=s))
error_counts = st.integers(min_value=1, max_value=200)
seeds = st.integers(min_value=0, max_value=2**32)


@given(intervals, error_counts)
def test_backoff_is_monotone_in_errors_and_capped_at_a_day(interval: timedelta, n: int) -> None:
    assert base_backoff(interval, n) <= base_backoff(interval, n + 1)
    assert base_backoff(interval, n) <= DAY
    if interval.total_seconds() * 2.0 ** (n - 1) <= DAY.total_seconds():
        assert base_backoff(interval, n) == interval * 2 ** (n - 1)
    else:
        assert base_backoff(interval, n) == DAY


@given(intervals, error_counts, seeds)
def test_backoff_jitter_stays_within_ten_percent(interval: timedelta, n: int, seed: int) -> None:
    base = base_backoff(interval, n)
    delay = backoff_delay(interval, n, random.Random(seed))
    assert base * 0.9 <= delay <= base * 1.1


def test_a_5xx_streak_backs_off_1_2_4_8_16_times_the_interval() -> None:
    rng = random.Random(7)
    delays = [
        next_poll_after_failure(NOW, TEN_MIN, n, hint=None, rng=rng) - NOW for n in range(1, 6)
    ]
    for n, delay in enumerate(delays, start=1):
        expected = TEN_MIN * 2 ** (n - 1)
        assert expected * 0.9 <= delay <= expected * 1.1
    assert delays == sorted(delays)


def test_backoff_never_exceeds_a_day_plus_jitter() -> None:
    delay = next_poll_after_failure(NOW, timedelta(hours=6), 50, hint=None, rng=random.Random(1))
    assert DAY * 0.9 <= delay - NOW <= DAY * 1.1


def test_failure_waits_at_least_as_long_as_retry_after_asked() -> None:
    hint = NOW + timedelta(hours=3)
    assert next_poll_after_failure(NOW, TEN_MIN, 1, hint=hint, rng=random.Random(1)) == hint


@given(intervals, seeds)
def test_success_polls_at_the_interval_within_ten_percent(interval: timedelta, seed: int) -> None:
    when = next_poll_after_success(NOW, interval, hint=None, ttl=None, rng=random.Random(seed))
    assert interval * 0.9 <= when - NOW <= interval * 1.1


def test_jitter_spreads_feeds_with_the_same_interval() -> None:
    rng = random.Random(3)
    times = {next_poll_after_success(NOW, TEN_MIN, hint=None, ttl=None, rng=rng) for _ in range(20)}
    assert len(times) == 20


def test_never_earlier_than_the_server_asked_and_hints_capped_at_a_day() -> None:
    rng = random.Random(1)
    later = NOW + timedelta(hours=2)
    assert next_poll_after_success(NOW, TEN_MIN, hint=later, ttl=None, rng=rng) == later
    assert next_poll_after_success(NOW, TEN_MIN, hint=None, ttl=timedelta(hours=1), rng=rng) == (
        NOW + timedelta(hours=1)
    )
    far = NOW + timedelta(days=30)
    assert next_poll_after_success(NOW, TEN_MIN, hint=far, ttl=timedelta(days=9), rng=rng) == (
        NOW + DAY
    )


def test_a_hint_shorter_than_the_interval_does_not_poll_sooner() -> None:
    soon = NOW + timedelta(seconds=30)
    when = next_poll_after_success(NOW, TEN_MIN, hint=soon, ttl=None, rng=random.Random(2))
    assert when - NOW >= TEN_MIN * 0.9


def test_retry_after_forms() -> None:
    assert parse_retry_after("60", NOW) == NOW + timedelta(minutes=1)
    assert parse_retry_after("Thu, 15 Jan 2026 12:05:00 GMT", NOW) == NOW + timedelta(minutes=5)
    assert parse_retry_after("Thu, 15 Jan 2026 11:00:00 GMT", NOW) is None  # in the past
    for garbage in ("", "soon", "1.5", "-1", "\x00", "Thu, 99 Foo 2026", "9" * 400):
        hint = parse_retry_after(garbage, NOW)
        assert hint is None or hint == NOW + DAY


def test_cache_hints() -> None:
    assert cache_hint({"cache-control": "max-age=600"}, NOW) == NOW + TEN_MIN
    assert cache_hint({"cache-control": "no-cache, max-age=600"}, NOW) is None
    assert cache_hint({"cache-control": "max-age=99999999"}, NOW) == NOW + DAY
    assert cache_hint({"expires": "0"}, NOW) is None
    assert cache_hint({"expires": "Thu, 15 Jan 2026 12:20:00 GMT"}, NOW) == NOW + 2 * TEN_MIN
    assert cache_hint({}, NOW) is None
