"""Operator alerts about feeds: down after repeated failures, recovered, gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.feedstate.health import after_failure, after_success
from monitor.types import FeedState

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_gone_says_what_happened_once() -> None:
    state = FeedState(name="wire", errors=1, last_poll=NOW)
    _, (alert,) = after_failure(state, "gone: 410 Gone: the feed was removed", NOW, gone=True)
    assert alert.title == "feed gone: wire: 410 Gone: the feed was removed (polling stopped)"
    assert alert.kind == "operator" and alert.url is None


def _fail_at(state: FeedState, at: datetime) -> tuple[FeedState, tuple]:
    failing = FeedState(
        name="wire",
        errors=state.errors + 1,
        failing_since=state.failing_since or at,
        down_since=state.down_since,
    )
    return after_failure(failing, "http_503: HTTP 503", at)


def test_down_once_failing_for_half_an_hour_over_three_attempts_then_recovered() -> None:
    state = FeedState(name="wire")
    alerts = []
    for minutes in (0, 5, 15, 29, 31, 45, 60):  # attempts; the 5th is past 30 min
        state, raised = _fail_at(state, NOW + timedelta(minutes=minutes))
        alerts.append((minutes, [a.title for a in raised]))
    assert [m for m, titles in alerts if titles] == [31]
    assert alerts[4][1] == ["feed down: wire: http_503: HTTP 503"]
    _, (recovered,) = after_success(state, NOW + timedelta(hours=2))
    assert recovered.title.startswith("feed recovered: wire")


def test_two_attempts_are_not_down_however_long_apart() -> None:
    state = FeedState(name="wire")
    state, first = _fail_at(state, NOW)
    state, second = _fail_at(state, NOW + timedelta(hours=6))
    assert first == () and second == ()
    _, third = _fail_at(state, NOW + timedelta(hours=7))
    assert len(third) == 1


def test_down_after_follows_the_configuration() -> None:
    state = FeedState(name="wire", errors=5, failing_since=NOW)
    _, raised = after_failure(
        state, "x", NOW + timedelta(minutes=45), down_after=timedelta(hours=1)
    )
    assert raised == ()
    _, raised = after_failure(
        state, "x", NOW + timedelta(minutes=61), down_after=timedelta(hours=1)
    )
    assert len(raised) == 1
