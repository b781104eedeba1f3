"""How many article pages may be read: per minute in all, per minute per host.

Shared by every feed of a process (thread-safe), with an injected monotonic clock; the
per-poll limit of one feed is the reader's. It fetches nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

_WINDOW = 60.0


class PageBudget:
    """A sliding one-minute window: at most ``per_minute`` pages in all and
    ``per_host_per_minute`` from one host."""

    def __init__(
        self,
        per_minute: int = 60,
        per_host_per_minute: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.per_host_per_minute = per_host_per_minute
        self._clock = clock
        self._all: deque[float] = deque()
        self._hosts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, host: str) -> bool:
        """Spend one page on ``host`` if both windows allow it."""
        now = self._clock()
        with self._lock:
            _expire(self._all, now)
            taken = self._hosts.setdefault(host.lower(), deque())
            _expire(taken, now)
            if len(self._all) >= self.per_minute or len(taken) >= self.per_host_per_minute:
                return False
            self._all.append(now)
            taken.append(now)
            if len(self._hosts) > 10_000:  # hosts seen long ago need no memory
                self._hosts = {h: q for h, q in self._hosts.items() if q}
            return True


def _expire(times: deque[float], now: float) -> None:
    while times and now - times[0] >= _WINDOW:
        times.popleft()
