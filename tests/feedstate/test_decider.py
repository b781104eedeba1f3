"""The pure next state of a feed after a poll: validators, errors, schedule, health."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.feedstate.decider import PollEnding, decide_next_state
from monitor.types import ErrorKind, FeedSpec, FeedState, FetchResult, PollStatus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPEC = FeedSpec("world", "https://feeds.example.org/w.xml", interval=timedelta(minutes=10))
FAILING = FeedState(name="world", etag='"v1"', errors=2, last_error="timeout: …", status="error")


def ok(**kw: object) -> FetchResult:
    return FetchResult(status="ok", url=SPEC.url, http_status=200, **kw)  # type: ignore[arg-type]


def test_a_new_body_replaces_the_validators_and_clears_the_errors() -> None:
    ending = PollEnding(PollStatus.OK, ok(etag=None), body_hash="h2", ttl=timedelta(hours=2))

    decided = decide_next_state(SPEC, FAILING, ending, NOW, random.Random(1))

    state = decided.state
    assert (state.etag, state.content_hash, state.errors, state.last_error) == (None, "h2", 0, None)
    assert state.status == "ok" and state.last_success == NOW
    # The feed's <ttl> is longer, but the configured interval is the promise.
    assert state.next_poll is not None and state.next_poll - NOW <= timedelta(minutes=11)
    assert state.next_poll_reason == "interval"
    assert decided.operator_alerts == ()


def test_an_opted_in_ttl_lengthens_the_interval_up_to_max_hint_delay() -> None:
    ending = PollEnding(PollStatus.OK, ok(), body_hash="h2", ttl=timedelta(hours=2))
    spec = replace(SPEC, respect_cache_hints=True)

    state = decide_next_state(spec, FAILING, ending, NOW, random.Random(1)).state

    assert state.next_poll == NOW + timedelta(hours=1)
    assert state.next_poll_reason == "cache-hint"


def test_a_permanent_redirect_is_remembered_until_the_next_one() -> None:
    moved = ok(permanent_redirect="https://feeds.example.org/new.xml")
    state = decide_next_state(
        SPEC, FAILING, PollEnding(PollStatus.OK, moved, body_hash="h"), NOW, random.Random(1)
    ).state
    assert state.moved_to == "https://feeds.example.org/new.xml"
    again = decide_next_state(
        SPEC, state, PollEnding(PollStatus.OK, ok(), body_hash="h"), NOW, random.Random(1)
    ).state
    assert again.moved_to == "https://feeds.example.org/new.xml"


def test_a_304_keeps_the_stored_validators() -> None:
    fetched = FetchResult(status="not_modified", url=SPEC.url, http_status=304)

    decided = decide_next_state(
        SPEC, FAILING, PollEnding(PollStatus.NOT_MODIFIED, fetched), NOW, random.Random(1)
    )

    assert decided.state.etag == '"v1"' and decided.state.status == "not_modified"


def test_a_failure_backs_off_and_retry_after_is_honoured() -> None:
    later = NOW + timedelta(hours=3)
    fetched = FetchResult(
        status="error",
        url=SPEC.url,
        http_status=429,
        error_kind=ErrorKind.RATE_LIMITED,
        retry_after=later,
    )

    decided = decide_next_state(
        SPEC,
        FAILING,
        PollEnding(PollStatus.ERROR, fetched, reason="rate_limited: 429"),
        NOW,
        random.Random(1),
    )

    assert decided.state.errors == 3 and decided.state.status == "error"
    assert decided.state.last_error == "rate_limited: 429"
    assert decided.state.next_poll == later
    assert decided.state.next_poll_reason == "retry-after"
    assert decided.state.failing_since is not None


def test_gone_stops_polling_and_raises_feed_gone() -> None:
    fetched = FetchResult(status="error", url=SPEC.url, http_status=410, error_kind=ErrorKind.GONE)

    decided = decide_next_state(
        SPEC,
        FAILING,
        PollEnding(PollStatus.ERROR, fetched, reason="gone: 410 Gone"),
        NOW,
        random.Random(1),
    )

    assert decided.state.status == "gone" and decided.state.next_poll is None
    [alert] = decided.operator_alerts
    assert alert.topic == "monitor:feed-gone" and "polling stopped" in alert.title
