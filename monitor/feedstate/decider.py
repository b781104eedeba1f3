"""A feed's next state after a poll: ONE pure decision (reader's ``Decider`` is the model).

:func:`decide_next_state` takes the feed's configuration, its stored state, how the
poll ended (:class:`PollEnding`: a stored body, the same body or a 304, a failure),
``now`` and the random source, and returns the :class:`NextState` to store: validators,
error count, status, the next poll (:func:`next_poll`, the schedule rules), and the
operator alerts that crossing a health line raises (:mod:`monitor.feedstate.health`).

It does not fetch, parse or store, nor decide whether a match is an alert
(:mod:`monitor.alerts.policy` does).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.feedstate.health import after_failure, after_success
from monitor.feedstate.hot import hot_next_poll
from monitor.feedstate.schedule import (
    Schedule,
    next_poll_after_failure,
    next_poll_after_success,
)
from monitor.types import (
    Alert,
    ErrorKind,
    FeedSpec,
    FeedState,
    FetchResult,
    NextPollReason,
    PollStatus,
)


@dataclass(frozen=True, slots=True)
class PollEnding:
    """How one poll ended, as far as the feed's state cares."""

    status: PollStatus
    """OK (a body parsed), UNCHANGED, NOT_MODIFIED, or ERROR (GONE is derived)."""
    fetched: FetchResult
    body_hash: str | None = None
    """SHA-256 of the body (OK, UNCHANGED)."""
    ttl: timedelta | None = None
    """The feed's own ``<ttl>`` (OK)."""
    reason: str = ""
    """Why it failed (ERROR), as ``monitor feeds`` shows it."""


@dataclass(frozen=True, slots=True)
class NextState:
    """What to store for the feed, and the operator alerts to raise with it."""

    state: FeedState
    operator_alerts: tuple[Alert, ...] = ()


# --- The schedule rules: when the feed is polled next. ---------------------------------
# One place for them (issue #11 changes them here): interval and jitter, server hints,
# backoff after failures, and no next poll at all for a feed that is gone.


def next_poll(
    spec: FeedSpec, ending: PollEnding, errors: int, now: datetime, rng: random.Random
) -> Schedule:
    """When to poll next after ``ending``, and why; ``errors`` counts this failure too.

    ``fetched.retry_after`` holds Retry-After after a 429/503 and the response's cache
    hint (Cache-Control, Expires) after a 2xx or 304: the fetcher's reading of each.
    """
    fetched = ending.fetched
    if ending.status is PollStatus.GONE:
        return Schedule(None, NextPollReason.GONE)
    if ending.status is PollStatus.ERROR:
        return next_poll_after_failure(
            now, spec.interval, errors, retry_after=fetched.retry_after, rng=rng
        )
    ttl = ending.ttl if ending.status is PollStatus.OK else None
    return next_poll_after_success(
        now,
        spec.interval,
        hint=fetched.retry_after,
        ttl=ttl,
        rng=rng,
        respect_hints=spec.respect_cache_hints,
        max_hint_delay=spec.max_hint_delay,
    )


def _while_hot(
    schedule: Schedule, spec: FeedSpec, state: FeedState, ending: PollEnding, now: datetime
) -> Schedule:
    """Sooner while a story the feed carried is hot (``topics[].hot``), never sooner
    than a cache hint the operator lets count."""
    hint = ending.fetched.retry_after if spec.respect_cache_hints else None
    sooner = hot_next_poll(
        schedule.at,
        hot_until=state.hot_until,
        hot_interval=state.hot_interval,
        now=now,
        not_before=hint,
    )
    if sooner is None or sooner == schedule.at:
        return schedule
    return Schedule(sooner, NextPollReason.HOT)


# --- The decision. ------------------------------------------------------------------------


def decide_next_state(
    spec: FeedSpec, state: FeedState, ending: PollEnding, now: datetime, rng: random.Random
) -> NextState:
    """The feed's state after this poll, and the operator alerts it raises."""
    if ending.status is PollStatus.ERROR:
        return _after_failure(spec, state, ending, now, rng)
    fetched = ending.fetched
    if ending.status is PollStatus.OK:
        # A new body: its validators replace the stored ones, even by none.
        etag, last_modified = fetched.etag, fetched.last_modified
        content_hash = ending.body_hash
    else:
        etag = fetched.etag or state.etag
        last_modified = fetched.last_modified or state.last_modified
        content_hash = ending.body_hash or state.content_hash
    schedule = _while_hot(next_poll(spec, ending, 0, now, rng), spec, state, ending, now)
    succeeded = replace(
        state,
        etag=etag,
        last_modified=last_modified,
        content_hash=content_hash,
        errors=0,
        last_error=None,
        last_poll=now,
        last_success=now,
        http_status=fetched.http_status,
        status=ending.status.value,
        next_poll=schedule.at,
        next_poll_reason=schedule.reason.value,
        failing_since=None,
        moved_to=fetched.permanent_redirect or state.moved_to,
    )
    return NextState(*after_success(succeeded, now))


def _after_failure(
    spec: FeedSpec, state: FeedState, ending: PollEnding, now: datetime, rng: random.Random
) -> NextState:
    fetched = ending.fetched
    gone = fetched.error_kind is ErrorKind.GONE
    if gone:
        ending = replace(ending, status=PollStatus.GONE)
    errors = state.errors + 1
    schedule = next_poll(spec, ending, errors, now, rng)
    failed = replace(
        state,
        errors=errors,
        last_error=ending.reason[:1000],
        last_poll=now,
        http_status=fetched.http_status,
        status=ending.status.value,
        next_poll=schedule.at,
        next_poll_reason=schedule.reason.value,
        failing_since=state.failing_since or now,
    )
    return NextState(
        *after_failure(failed, ending.reason, now, gone=gone, down_after=spec.down_after)
    )
