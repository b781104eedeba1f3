"""When feeds are polled next: the interval as a promise, opted-in hints, capped backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.feedstate.schedule import (
    Schedule,
    backoff_delay,
    base_backoff,
    next_poll_after_failure,
    next_poll_after_success,
)
from monitor.fetching.http_hints import cache_hint, parse_retry_after
from monitor.types import NextPollReason

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TEN_MIN = timedelta(minutes=10)
DAY = timedelta(hours=24)

intervals = st.integers(min_value=1, max_value=7 * 86400).map(lambda s: timedelta(seconds=s))
error_counts = st.integers(min_value=1, max_value=200)
seeds = st.integers(min_value=0, max_value=2**32)


HALF_HOUR = timedelta(minutes=30)


@given(intervals, error_counts)
def test_backoff_is_monotone_and_never_past_max_of_interval_and_half_an_hour(
    interval: timedelta, n: int
) -> None:
    cap = max(interval, HALF_HOUR)
    assert base_backoff(interval, n) <= base_backoff(interval, n + 1)
    assert base_backoff(interval, n) <= cap
    if interval.total_seconds() * 2.0 ** (n - 1) <= cap.total_seconds():
        assert base_backoff(interval, n) == interval * 2 ** (n - 1)
    else:
        assert base_backoff(interval, n) == cap


@given(intervals, error_counts, seeds)
def test_backoff_jitter_stays_within_ten_percent_and_under_the_cap(
    interval: timedelta, n: int, seed: int
) -> None:
    base = base_backoff(interval, n)
    delay = backoff_delay(interval, n, random.Random(seed))
    assert base * 0.9 <= delay <= base * 1.1
    assert delay <= max(interval, HALF_HOUR)


def test_a_5xx_streak_backs_off_then_retries_every_half_hour() -> None:
    rng = random.Random(7)
    got = [
        next_poll_after_failure(NOW, TEN_MIN / 2, n, retry_after=None, rng=rng) for n in range(1, 9)
    ]
    delays = [g.at - NOW for g in got]
    for n, delay in enumerate(delays[:3], start=1):  # 5, 10, 20 min
        expected = TEN_MIN / 2 * 2 ** (n - 1)
        assert expected * 0.9 <= delay <= expected * 1.1
    assert all(HALF_HOUR * 0.9 <= d <= HALF_HOUR for d in delays[3:])  # capped
    assert {g.reason for g in got} == {NextPollReason.BACKOFF}


def test_a_long_interval_is_its_own_cap() -> None:
    got = next_poll_after_failure(
        NOW, timedelta(hours=6), 50, retry_after=None, rng=random.Random(1)
    )
    assert timedelta(hours=6) * 0.9 <= got.at - NOW <= timedelta(hours=6)


def test_retry_after_is_always_honoured_up_to_a_day() -> None:
    hint = NOW + timedelta(hours=3)
    got = next_poll_after_failure(NOW, TEN_MIN, 1, retry_after=hint, rng=random.Random(1))
    assert got == Schedule(hint, NextPollReason.RETRY_AFTER)
    far = next_poll_after_failure(
        NOW, TEN_MIN, 1, retry_after=NOW + timedelta(days=9), rng=random.Random(1)
    )
    assert far.at == NOW + DAY


@given(intervals, seeds)
def test_success_polls_at_the_interval_within_ten_percent(interval: timedelta, seed: int) -> None:
    got = next_poll_after_success(NOW, interval, hint=None, ttl=None, rng=random.Random(seed))
    assert interval * 0.9 <= got.at - NOW <= interval * 1.1
    assert got.reason is NextPollReason.INTERVAL


def test_jitter_spreads_feeds_with_the_same_interval() -> None:
    rng = random.Random(3)
    times = {
        next_poll_after_success(NOW, TEN_MIN, hint=None, ttl=None, rng=rng).at for _ in range(20)
    }
    assert len(times) == 20


def test_cache_hints_are_ignored_unless_the_operator_opts_in() -> None:
    rng = random.Random(1)
    ninety = timedelta(minutes=90)  # tagesschau's <ttl>
    got = next_poll_after_success(NOW, TEN_MIN, hint=NOW + ninety, ttl=ninety, rng=rng)
    assert got.at - NOW <= TEN_MIN * 1.1 and got.reason is NextPollReason.INTERVAL


def test_opted_in_hints_lengthen_the_interval_up_to_max_hint_delay() -> None:
    rng = random.Random(1)
    later = NOW + timedelta(minutes=40)
    hour = timedelta(hours=1)
    assert next_poll_after_success(
        NOW, TEN_MIN, hint=later, ttl=None, rng=rng, respect_hints=True
    ) == Schedule(later, NextPollReason.CACHE_HINT)
    ttl = next_poll_after_success(
        NOW, TEN_MIN, hint=None, ttl=timedelta(minutes=90), rng=rng, respect_hints=True
    )
    assert ttl == Schedule(NOW + hour, NextPollReason.CACHE_HINT)  # capped at 1h
    short_cap = next_poll_after_success(
        NOW,
        TEN_MIN,
        hint=NOW + timedelta(days=30),
        ttl=None,
        rng=rng,
        respect_hints=True,
        max_hint_delay=timedelta(minutes=20),
    )
    assert short_cap.at == NOW + timedelta(minutes=20)


def test_a_hint_shorter_than_the_interval_does_not_poll_sooner() -> None:
    soon = NOW + timedelta(seconds=30)
    got = next_poll_after_success(
        NOW, TEN_MIN, hint=soon, ttl=None, rng=random.Random(2), respect_hints=True
    )
    assert got.at - NOW >= TEN_MIN * 0.9 and got.reason is NextPollReason.INTERVAL


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
