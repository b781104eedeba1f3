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


def test_down_after_five_failures_then_recovered() -> None:
    state = FeedState(name="wire", last_success=NOW - timedelta(hours=1))
    alerts = []
    for errors in range(1, 6):
        state, raised = after_failure(
            FeedState(
                name="wire",
                errors=errors,
                last_success=state.last_success,
                down_since=state.down_since,
            ),
            "http_503: HTTP 503",
            NOW,
        )
        alerts += raised
    assert [a.title for a in alerts] == ["feed down: wire: http_503: HTTP 503"]
    _, (recovered,) = after_success(state, NOW + timedelta(minutes=5))
    assert recovered.title.startswith("feed recovered: wire")
