"""Signals across outlets, decided purely: confirmation, surges, hot spells.

Each function takes plain facts (the outlets that carried a story, match times, ``now``)
and returns an outcome enum; storage (:mod:`monitor.storage.signals`) reads the facts in
the transaction that stores a poll and writes what was decided. Nothing here reads a
clock, a database or a network; nothing here decides whether a match is a story
(:mod:`monitor.alerts.policy` does) or when a feed is polled (:mod:`monitor.feedstate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from monitor.types import OutletKind, Sighting

SURGE_HISTORY = timedelta(days=7)
"""How far back a topic's usual coverage is measured (its mean per surge window)."""


# --- Confirmation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmRule:
    """``confirm:`` of a topic: how many distinct outlets, of which kinds, how soon."""

    outlets: int = 2
    within: timedelta = timedelta(minutes=30)
    kinds: frozenset[OutletKind] | None = None
    hold: bool = True
    """True (``confirm:``): no alert before confirmation. False (``notify_confirmation``
    alone): the alert is raised at once and a confirmation follows it."""


DEFAULT_FOLLOW_UP = ConfirmRule(outlets=2, within=timedelta(hours=48), hold=False)
"""``notify_confirmation: true`` without ``confirm:``: a second outlet within the story
window (48 h) confirms."""


class Confirmation(StrEnum):
    CONFIRMED = "confirmed"
    """Enough outlets of the wanted kinds carried it within the window."""
    WAITING = "waiting"
    """Not yet; the window is still open."""
    EXPIRED = "expired"
    """The window closed short of the count: the story is never alerted (late)."""


def decide_confirmation(
    rule: ConfirmRule, sightings: Sequence[Sighting], now: datetime
) -> tuple[Confirmation, tuple[str, ...]]:
    """Whether the outlets in ``sightings`` (one per outlet, in order) confirm the story.

    The window opens at the story's first sighting by any outlet: a claim is confirmed
    when others carry it soon after, never days later. Returns the confirming outlets.
    """
    if not sightings:
        return Confirmation.WAITING, ()
    start = sightings[0].at or now
    deadline = start + rule.within
    qualifying = tuple(
        s.source.outlet
        for s in sightings
        if (rule.kinds is None or s.source.kind in rule.kinds) and (s.at or now) <= deadline
    )
    if len(qualifying) >= rule.outlets:
        return Confirmation.CONFIRMED, qualifying
    if now > deadline:
        return Confirmation.EXPIRED, ()
    return Confirmation.WAITING, ()


# --- Surges ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurgeRule:
    """``surge:`` of a topic."""

    factor: float = 5.0
    window: timedelta = timedelta(hours=1)
    min: int = 4


class SurgeOutcome(StrEnum):
    STARTS = "starts"
    """A surge begins now: one ``"kind": "surge"`` alert."""
    CONTINUES = "continues"
    """Still above, or above again without having calmed down for a window: no alert."""
    QUIET = "quiet"


def surging(rule: SurgeRule, count: int, history: int) -> bool:
    """``count`` matches in the window exceed ``factor`` × the mean per window of the
    ``history`` matches of the previous 7 days, and reach ``min`` (no history: ``min``)."""
    mean = history / (SURGE_HISTORY / rule.window)
    return count >= rule.min and count > rule.factor * mean


def calmed_since(
    rule: SurgeRule, history: int, times: Sequence[datetime], since: datetime, now: datetime
) -> bool:
    """Whether the windowed count stayed below the surge line for one whole window at
    some point in ``[since, now)``, given the match ``times`` (sorted; those before
    ``since - window`` are ignored; those at ``now`` are not counted)."""
    window = rule.window
    if now - since < window:
        return False
    relevant = [t for t in times if since - window < t < now]
    edges = sorted({since, *(t for t in relevant if t >= since), *(t + window for t in relevant)})
    edges = [e for e in edges if since <= e < now] + [now]
    calm_from: datetime | None = None
    for start, end in pairwise(edges):
        count = sum(1 for t in relevant if start - window < t <= start)
        if surging(rule, count, history):
            calm_from = None
            continue
        calm_from = calm_from or start
        if end - calm_from >= window:
            return True
    return False


def decide_surge(
    rule: SurgeRule,
    *,
    count: int,
    history: int,
    last_surge: datetime | None,
    times: Sequence[datetime],
    now: datetime,
) -> SurgeOutcome:
    """Raised once per surge; again only after the rate fell below the line for a window.

    ``count``: matches in ``(now - window, now]``; ``history``: in the 7 days before that;
    ``last_surge``: when the topic's last surge alert was raised; ``times``: match times
    since one window before it.
    """
    if not surging(rule, count, history):
        return SurgeOutcome.QUIET
    if last_surge is None or calmed_since(rule, history, times, last_surge, now):
        return SurgeOutcome.STARTS
    return SurgeOutcome.CONTINUES


# --- Hot topics --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HotRule:
    """``hot:`` of a topic: poll the feeds of a fresh alert at ``interval`` for ``for_``."""

    interval: timedelta = timedelta(minutes=1)
    for_: timedelta = timedelta(hours=2)
