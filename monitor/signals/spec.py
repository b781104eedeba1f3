"""The YAML shape of a topic's signals across outlets (SPEC.md "signals across outlets").

``confirm:`` (hold a story's alert until enough outlets carried it), ``surge:`` (alert
when a topic's coverage jumps), ``hot:`` (poll the feeds of a fresh story faster), each
validated by pydantic and turned into the plain rules of :mod:`monitor.signals.rules`.
Only the shape lives here; what the rules decide is in :mod:`monitor.signals`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.config.durations import Duration
from monitor.types import OutletKind

HOT_MIN_INTERVAL = timedelta(seconds=30)
"""No feed is polled more often than this, however hot its story: the politeness floor."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfirmConfig(_Strict):
    """``confirm: {outlets: 2, within: 30m, kinds: [wire, independent, public]}``."""

    outlets: int = Field(default=2, ge=1, le=100)
    within: Duration = timedelta(minutes=30)
    kinds: list[OutletKind] | None = None


class SurgeConfig(_Strict):
    """``surge: {factor: 5, window: 1h, min: 4}``."""

    factor: float = Field(default=5.0, gt=0, le=10_000)
    window: Duration = timedelta(hours=1)
    min: int = Field(default=4, ge=1, le=1_000_000)

    @field_validator("window")
    @classmethod
    def _window(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=1):
            raise ValueError("surge window must be between 1m and 1d")
        return value


class HotConfig(_Strict):
    """``hot: {interval: 1m, for: 2h}``."""

    interval: Duration = timedelta(minutes=1)
    for_: Duration = Field(default=timedelta(hours=2), alias="for")

    @field_validator("interval")
    @classmethod
    def _polite(cls, value: timedelta) -> timedelta:
        if value < HOT_MIN_INTERVAL:
            raise ValueError(
                f"hot interval must be at least {int(HOT_MIN_INTERVAL.total_seconds())}s"
                " (politeness towards the feeds' servers)"
            )
        return value
