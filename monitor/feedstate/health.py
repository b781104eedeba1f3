"""Feed health decisions: when a failing feed becomes "down", when it recovered.

Pure: state and ``now`` in, new state and operator alerts out. A feed is never
dropped silently: once it has been failing for ``down_after`` (default 30 min) over at
least :data:`DOWN_AFTER_ATTEMPTS` attempts, an operator alert says so once; a success
after that says "recovered". (Backoff retries a failing feed at least every
``max(interval, 30m)``, so the line is crossed on time.) The alerts
themselves are made by :mod:`monitor.alerts.operator`; the next state as a whole is
:mod:`monitor.feedstate.decider`'s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.alerts.operator import operator_alert
from monitor.types import Alert, FeedState

DOWN_AFTER_ATTEMPTS = 3
DOWN_AFTER = timedelta(minutes=30)


def after_failure(
    state: FeedState,
    reason: str,
    now: datetime,
    *,
    gone: bool = False,
    down_after: timedelta = DOWN_AFTER,
) -> tuple[FeedState, tuple[Alert, ...]]:
    """The down/gone alert to raise, if this failure crosses the line."""
    if gone:
        said = reason.removeprefix("gone: ")  # "feed gone: NAME: gone: 410 …" said it twice
        alert = operator_alert(
            "feed-gone", state.name, f"feed gone: {state.name}: {said} (polling stopped)", now
        )
        return replace(state, down_since=state.down_since or now), (alert,)
    failing_since = state.failing_since or now
    if (
        state.down_since is None
        and state.errors >= DOWN_AFTER_ATTEMPTS
        and now - failing_since >= down_after
    ):
        alert = operator_alert("feed-down", state.name, f"feed down: {state.name}: {reason}", now)
        return replace(state, down_since=now), (alert,)
    return state, ()


def after_success(state: FeedState, now: datetime) -> tuple[FeedState, tuple[Alert, ...]]:
    if state.down_since is None:
        return state, ()
    alert = operator_alert("feed-recovered", state.name, f"feed recovered: {state.name}", now)
    return replace(state, down_since=None), (alert,)
