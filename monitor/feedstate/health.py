"""Feed health decisions: when a failing feed becomes "down", when it recovered.

Pure: state and ``now`` in, new state and operator alerts out. A feed is never
dropped silently: after 5 consecutive failures or 24 h without a success, an
operator alert says so once; a success after that says "recovered".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.types import Alert, FeedState

DOWN_AFTER_ERRORS = 5
DOWN_AFTER = timedelta(hours=24)
OPERATOR_TOPIC = "monitor"


def operator_alert(kind: str, feed: str, title: str, now: datetime) -> Alert:
    """An alert about the monitor itself, delivered to every channel."""
    import hashlib

    digest = hashlib.sha256(f"{kind}\n{feed}\n{now.isoformat()}".encode()).hexdigest()[:32]
    return Alert(
        id=digest,
        kind="operator",
        topic=f"{OPERATOR_TOPIC}:{kind}",
        topic_name=f"monitor: {kind.replace('-', ' ')}",
        title=title,
        url=None,
        feed=feed,
        published=now,
        detected_at=now,
        evidence=(),
        feeds=(feed,),
    )


def after_failure(
    state: FeedState, reason: str, now: datetime, *, gone: bool = False
) -> tuple[FeedState, tuple[Alert, ...]]:
    """The down/gone alert to raise, if this failure crosses the line."""
    if gone:
        said = reason.removeprefix("gone: ")  # "feed gone: NAME: gone: 410 …" said it twice
        alert = operator_alert(
            "feed-gone", state.name, f"feed gone: {state.name}: {said} (polling stopped)", now
        )
        return replace(state, down_since=state.down_since or now), (alert,)
    first_failure = state.last_success or state.last_poll
    long_down = (
        first_failure is not None
        and now - first_failure >= DOWN_AFTER
        and (state.last_success is not None)
    )
    if state.down_since is None and (state.errors >= DOWN_AFTER_ERRORS or long_down):
        alert = operator_alert("feed-down", state.name, f"feed down: {state.name}: {reason}", now)
        return replace(state, down_since=now), (alert,)
    return state, ()


def after_success(state: FeedState, now: datetime) -> tuple[FeedState, tuple[Alert, ...]]:
    if state.down_since is None:
        return state, ()
    alert = operator_alert("feed-recovered", state.name, f"feed recovered: {state.name}", now)
    return replace(state, down_since=None), (alert,)
