"""Signals across outlets (SPEC.md): confirmation, surges, hot topics; pure rules."""

from monitor.signals.rules import (
    DEFAULT_FOLLOW_UP,
    SURGE_HISTORY,
    Confirmation,
    ConfirmRule,
    HotRule,
    SurgeOutcome,
    SurgeRule,
    calmed_since,
    decide_confirmation,
    decide_surge,
    surging,
)
from monitor.signals.spec import HOT_MIN_INTERVAL, ConfirmConfig, HotConfig, SurgeConfig

__all__ = [
    "DEFAULT_FOLLOW_UP",
    "HOT_MIN_INTERVAL",
    "SURGE_HISTORY",
    "ConfirmConfig",
    "ConfirmRule",
    "Confirmation",
    "HotConfig",
    "HotRule",
    "SurgeConfig",
    "SurgeOutcome",
    "SurgeRule",
    "calmed_since",
    "decide_confirmation",
    "decide_surge",
    "surging",
]
