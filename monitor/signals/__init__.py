"""Signals across outlets (SPEC.md): confirmation, surges, hot topics; pure rules.

Imported lazily: a name is loaded from its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
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

_HOMES = {
    "DEFAULT_FOLLOW_UP": "rules",
    "SURGE_HISTORY": "rules",
    "Confirmation": "rules",
    "ConfirmRule": "rules",
    "HotRule": "rules",
    "SurgeOutcome": "rules",
    "SurgeRule": "rules",
    "calmed_since": "rules",
    "decide_confirmation": "rules",
    "decide_surge": "rules",
    "surging": "rules",
    "HOT_MIN_INTERVAL": "spec",
    "ConfirmConfig": "spec",
    "HotConfig": "spec",
    "SurgeConfig": "spec",
}
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


__getattr__ = lazy_getattr(__name__, _HOMES)
