"""A feed's state between polls: the pure next state after a poll (one decider).

Public surface: :func:`decide_next_state` (validators, errors, status, next poll, the
operator alerts a health line raises), :class:`PollEnding`, :class:`NextState`, and
:func:`next_poll` (the schedule rules). Pure: no clock, database or network.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.feedstate.decider import NextState, PollEnding, decide_next_state, next_poll

_HOMES = {
    "NextState": "decider",
    "PollEnding": "decider",
    "decide_next_state": "decider",
    "next_poll": "decider",
}
__all__ = [
    "NextState",
    "PollEnding",
    "decide_next_state",
    "next_poll",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
