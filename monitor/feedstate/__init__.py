"""A feed's state between polls: the pure next state after a poll (one decider).

Public surface: :func:`decide_next_state` (validators, errors, status, next poll, the
operator alerts a health line raises), :class:`PollEnding`, :class:`NextState`, and
:func:`next_poll` (the schedule rules). Pure: no clock, database or network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _HOMES)
