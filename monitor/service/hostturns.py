"""Which claimed feeds may start now: at most ``per_host`` in flight per host.

The fetcher lets two requests at once reach one host; a third would wait for a slot
on a worker thread. With many feeds on a host that accepts connections and never
answers, every worker ended up waiting there and a healthy host's feed waited too.
:class:`HostTurns` keeps the feeds whose host is full out of the pool until one of that
host's feeds finishes, so feeds of other hosts go first. Not thread-safe: the pass's
loop alone uses it.

It does not fetch, claim or poll; :func:`monitor.service.passes.run_pass` does.
"""

from __future__ import annotations

from collections import Counter, deque
from urllib.parse import urlsplit

from monitor.types import FeedSpec, FeedState


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class HostTurns:
    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._busy: Counter[str] = Counter()
        self._waiting: deque[tuple[FeedSpec, FeedState]] = deque()

    def wait(self, spec: FeedSpec, state: FeedState) -> None:
        """A claimed feed, in line for its host."""
        self._waiting.append((spec, state))

    def ready(self) -> list[tuple[FeedSpec, FeedState]]:
        """The waiting feeds whose host has a free slot now (taken: counted as busy)."""
        start: list[tuple[FeedSpec, FeedState]] = []
        keep: deque[tuple[FeedSpec, FeedState]] = deque()
        for spec, state in self._waiting:
            host = host_of(spec.url)
            if self._busy[host] < self.per_host:
                self._busy[host] += 1
                start.append((spec, state))
            else:
                keep.append((spec, state))
        self._waiting = keep
        return start

    def done(self, spec: FeedSpec) -> None:
        host = host_of(spec.url)
        self._busy[host] = max(0, self._busy[host] - 1)

    def names(self) -> set[str]:
        return {spec.name for spec, _ in self._waiting}

    def drop(self) -> list[str]:
        """Give up the waiting feeds (the pass stops); their names, to release."""
        names = [spec.name for spec, _ in self._waiting]
        self._waiting.clear()
        return names
