"""Whether the daemon is alive and making progress: the pure rules behind the systemd
watchdog, the ``tick_stalled`` warning, the health limit's build allowance and the
renewal of the leases of feeds in flight.

A tick's length is bounded by the fetch and parse deadlines, except while a parser
worker compiles the topics (after a start or a reload: ~3.4 s at 10,000 topics, up to
the pool's build deadline), which holds the feed being parsed back. Compiling is
progress; but the compiles excused since the last tick finished are capped at one
build deadline, so workers that die right after compiling, one after another, do not
excuse a tick for ever. This module reads no clock and starts nothing.
"""

from __future__ import annotations

__all__ = ["STALL_MIN", "build_progressed", "excused_build", "stall_limit"]

STALL_MIN = 120.0
"""Seconds a tick runs at least before it counts as stalled (five ticks if longer)."""


def excused_build(built: float, allowance: float) -> float:
    """Seconds of compiling (``built`` since the last tick finished) that excuse the
    tick in progress: at most ``allowance`` (the pool's build deadline, what one
    compile may take)."""
    return max(0.0, min(built, allowance))


def stall_limit(tick_interval: float, excused: float) -> float:
    """Seconds after which a running tick is stalled (a bug, not a slow feed)."""
    return max(STALL_MIN, 5 * tick_interval) + excused


def build_progressed(before: float, now: float, built: float, allowance: float) -> bool:
    """Whether compiling counts as progress since the last look: the pool's build
    clock moved (``before`` → ``now``) while the compiles since the last tick
    finished (``built``) are still within their ``allowance``."""
    return now > before and built < allowance
