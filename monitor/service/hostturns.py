"""Which claimed feeds may start now: a limit of fetches in flight per host that adapts.

The fetcher lets two requests at once reach one host; a third would wait for a slot
on a worker thread. With many feeds on a host that accepts connections and never
answers, every worker ended up waiting there and a healthy host's feed waited too.
:class:`HostTurns` keeps the feeds whose host is full out of the pool until one of that
host's feeds finishes, so feeds of other hosts go first. Not thread-safe: the pass's
loop alone uses it.

Two at a time is right for a slow publisher, not for a fast one (300 feeds of one
news-search host would go two by two). Each host's limit starts at ``per_host``; every
poll of it that ends well within :data:`FAST_SECONDS` lets one more run at once, up to
``ceiling``; a slow poll, an error or a 429/5xx brings it back to ``per_host`` at once
(:func:`next_limit`, pure).

It does not fetch, claim or poll; :func:`monitor.service.passes.run_pass` does.
"""

from __future__ import annotations

from collections import Counter, deque
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.types import FeedSpec, FeedState, PollStatus

if TYPE_CHECKING:
    from monitor.pipeline import FeedOutcome

FAST_SECONDS = 1.0
"""A poll (fetch, parse, store) quicker than this counts as the host answering fast."""
CEILING = 8
"""The most fetches in flight to one host, however fast it answers."""


class HostPace(Enum):
    """How a host answered one poll."""

    FAST = "fast"
    SLOW = "slow"
    FAILED = "failed"


def pace_of(outcome: FeedOutcome | None) -> HostPace:
    """FAILED for an error, a 429 or a 5xx (or a crashed poll), else FAST or SLOW."""
    if outcome is None or outcome.status == PollStatus.ERROR:
        return HostPace.FAILED
    if outcome.http_status is not None and (
        outcome.http_status == 429 or outcome.http_status >= 500
    ):
        return HostPace.FAILED
    return HostPace.FAST if outcome.duration < FAST_SECONDS else HostPace.SLOW


def next_limit(limit: int, pace: HostPace, *, base: int, ceiling: int) -> int:
    """The host's limit after one poll: one more after a fast one, back to base else."""
    if pace is HostPace.FAST:
        return min(ceiling, limit + 1)
    return base


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class HostTurns:
    def __init__(self, per_host: int, ceiling: int | None = None) -> None:
        self.per_host = max(1, per_host)
        self.ceiling = max(self.per_host, ceiling if ceiling is not None else self.per_host)
        self._busy: Counter[str] = Counter()
        self._limits: dict[str, int] = {}
        # The waiting feeds in a line per host, hosts in the order their first feed came,
        # so a call of ready() looks at hosts, not at every feed (1,000 feeds of one host
        # waited in a pass, and each finished poll looked through all of them).
        self._waiting: dict[str, deque[tuple[FeedSpec, FeedState]]] = {}
        self._hosts: dict[str, str] = {}
        """Each feed's host, worked out once when it joins the line."""

    def wait(self, spec: FeedSpec, state: FeedState) -> None:
        """A claimed feed, in line for its host."""
        host = self._hosts[spec.name] = host_of(spec.url)
        self._waiting.setdefault(host, deque()).append((spec, state))

    def ready(self) -> list[tuple[FeedSpec, FeedState]]:
        """The waiting feeds whose host has a free slot now (taken: counted as busy), one
        of each host in turn."""
        start: list[tuple[FeedSpec, FeedState]] = []
        took = True
        while took:
            took = False
            for host in list(self._waiting):
                if self._busy[host] >= self._limits.get(host, self.per_host):
                    continue
                line = self._waiting[host]
                self._busy[host] += 1
                start.append(line.popleft())
                took = True
                if not line:
                    del self._waiting[host]
        return start

    def done(self, spec: FeedSpec, pace: HostPace = HostPace.SLOW) -> None:
        """A feed of the host finished; how the host answered sets its next limit."""
        host = self._hosts.pop(spec.name, None)
        if host is None:
            host = host_of(spec.url)
        self._busy[host] = max(0, self._busy[host] - 1)
        limit = self._limits.get(host, self.per_host)
        limit = next_limit(limit, pace, base=self.per_host, ceiling=self.ceiling)
        if limit == self.per_host:
            self._limits.pop(host, None)
        else:
            self._limits[host] = limit

    def skip(self, spec: FeedSpec) -> None:
        """A feed taken from the line but not fetched: its host's slot is free again,
        and the host's limit stays as it is (nothing was learned of its pace)."""
        host = self._hosts.pop(spec.name, None)
        if host is None:
            host = host_of(spec.url)
        self._busy[host] = max(0, self._busy[host] - 1)

    def limit(self, host: str) -> int:
        """How many fetches of ``host`` may run at once now."""
        return self._limits.get(host, self.per_host)

    def names(self) -> set[str]:
        return {spec.name for line in self._waiting.values() for spec, _ in line}

    def drop(self) -> list[str]:
        """Give up the waiting feeds (the pass stops); their names, to release."""
        names = [spec.name for line in self._waiting.values() for spec, _ in line]
        for name in names:
            self._hosts.pop(name, None)
        self._waiting.clear()
        return names
