"""Durations as an operator writes them (``90s``, ``10m``, ``2h``, ``2d``): a leaf.

Imported by the configuration's schema and by the shapes of other rooms (topics'
signals) alike, so that none of them imports another to read ``30m``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = ["MAX_DURATION", "Duration", "parse_duration"]

MAX_DURATION = timedelta(days=3650)
"""Longer is a typo (or ``.inf``): refused before ``timedelta`` overflows."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``10m``, ``2h``, ``2d`` (or a number of seconds) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 2h, 2d)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 2h, 2d)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration too long: {str(value)[:40]!r} (at most 3650d)")
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
