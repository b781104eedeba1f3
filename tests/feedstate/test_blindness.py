"""A monitor that sees nothing says so: blind after health.blind_after without any
successful poll, sighted again after one; one alert each, the same from any worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.feedstate.blindness import Sight, check_sight

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMIT = timedelta(minutes=15)


def check(previous: Sight, last_success: datetime | None, now: datetime, feeds: int = 3):
    return check_sight(
        previous,
        last_success=last_success,
        watching_since=START,
        enabled_feeds=feeds,
        now=now,
        blind_after=LIMIT,
    )


def test_blind_once_past_the_limit_then_sighted_once_after_a_success() -> None:
    ok_at = START + timedelta(minutes=1)
    assert check(Sight.SIGHTED, ok_at, ok_at + timedelta(minutes=14)).alert is None
    blind = check(Sight.SIGHTED, ok_at, ok_at + LIMIT)
    assert blind.sight is Sight.BLIND and blind.alert is not None
    assert blind.alert.topic == "monitor:blind" and blind.alert.kind == "operator"
    assert "no feed of 3 polled successfully for 15 min" in blind.alert.title
    still = check(Sight.BLIND, ok_at, ok_at + timedelta(hours=5))
    assert still.sight is Sight.BLIND and still.alert is None  # once per blindness
    back = check(Sight.BLIND, ok_at + timedelta(hours=6), ok_at + timedelta(hours=6))
    assert back.sight is Sight.SIGHTED and back.alert is not None
    assert back.alert.topic == "monitor:sighted"


def test_two_workers_raise_the_same_alert() -> None:
    ok_at = START + timedelta(minutes=1)
    one = check(Sight.SIGHTED, ok_at, ok_at + LIMIT)
    other = check(Sight.SIGHTED, ok_at, ok_at + LIMIT + timedelta(seconds=20))
    assert one.alert is not None and other.alert is not None
    assert one.alert.id == other.alert.id


def test_never_a_success_counts_from_the_start_and_no_feed_is_never_blind() -> None:
    assert check(Sight.SIGHTED, None, START + timedelta(minutes=14)).sight is Sight.SIGHTED
    assert check(Sight.SIGHTED, None, START + LIMIT).sight is Sight.BLIND
    assert check(Sight.SIGHTED, None, START + timedelta(days=3), feeds=0).sight is Sight.SIGHTED
