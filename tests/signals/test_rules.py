"""The pure signal rules: confirmation windows and kinds, surge lines and re-arming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.feedstate.hot import hot_next_poll
from monitor.signals import (
    Confirmation,
    ConfirmRule,
    SurgeOutcome,
    SurgeRule,
    decide_confirmation,
    decide_surge,
)
from monitor.types import OutletKind, Sighting, Source

T0 = datetime(2025, 8, 15, 18, 0, tzinfo=UTC)


def seen(outlet: str, kind: OutletKind, minutes: int) -> Sighting:
    return Sighting(Source(outlet, kind), outlet.lower(), T0 + timedelta(minutes=minutes))


def test_confirmation_counts_only_the_kinds_wanted_within_the_window() -> None:
    rule = ConfirmRule(2, timedelta(minutes=30), frozenset({OutletKind.WIRE, OutletKind.PUBLIC}))
    tass, ap, dw = (
        seen("TASS", OutletKind.STATE, 0),
        seen("AP", OutletKind.WIRE, 10),
        seen("DW", OutletKind.PUBLIC, 25),
    )
    now = T0 + timedelta(minutes=25)
    assert decide_confirmation(rule, [tass, ap], now)[0] is Confirmation.WAITING
    assert decide_confirmation(rule, [tass, ap, dw], now) == (Confirmation.CONFIRMED, ("AP", "DW"))
    late = seen("DW", OutletKind.PUBLIC, 31)
    assert decide_confirmation(rule, [tass, ap, late], late.at or now)[0] is Confirmation.EXPIRED


def test_a_surge_needs_min_and_factor_times_the_mean_and_re_arms_after_a_calm_window() -> None:
    rule = SurgeRule(factor=5, window=timedelta(hours=1), min=4)
    # 168 matches in 7 days: a mean of 1 per hour, so the line is above 5.
    assert decide_surge(rule, count=5, history=168, last_surge=None, times=[], now=T0) is (
        SurgeOutcome.QUIET
    )
    assert decide_surge(rule, count=6, history=168, last_surge=None, times=[], now=T0) is (
        SurgeOutcome.STARTS
    )
    burst = [T0 - timedelta(minutes=m) for m in (40, 30, 20, 10)]
    assert decide_surge(rule, count=4, history=0, last_surge=None, times=burst, now=T0) is (
        SurgeOutcome.STARTS
    )
    later = T0 + timedelta(minutes=30)
    assert (
        decide_surge(rule, count=4, history=0, last_surge=T0, times=[*burst, T0], now=later)
        is SurgeOutcome.CONTINUES
    )
    after_calm = T0 + timedelta(hours=3)
    assert (
        decide_surge(rule, count=4, history=0, last_surge=T0, times=[*burst, T0], now=after_calm)
        is SurgeOutcome.STARTS
    )


def test_hot_spells_only_bring_polls_forward_and_end_on_time() -> None:
    planned = T0 + timedelta(hours=1)
    hot = {"hot_until": T0 + timedelta(minutes=10), "hot_interval": timedelta(minutes=1)}
    assert hot_next_poll(planned, now=T0, **hot) == T0 + timedelta(minutes=1)
    assert hot_next_poll(planned, now=T0 + timedelta(minutes=10), **hot) == planned
    retry_after = T0 + timedelta(minutes=5)
    assert hot_next_poll(planned, now=T0, not_before=retry_after, **hot) == retry_after
    assert hot_next_poll(T0 + timedelta(seconds=20), now=T0, **hot) == T0 + timedelta(seconds=20)
