"""Values an app builds at their first use, once, whichever thread asks first.

A pass of unchanged feeds (every answer a 304 or the same bytes) matches nothing and
decides no story: compiling the topics and the alert policy's word tables for it is
start-up work thrown away. :func:`once` and :class:`DeferredMapping` build them when a
body first needs them; what they build is exactly what an eager build would have been.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["DeferredMapping", "once"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def once(build: Callable[[], T]) -> Callable[[], T]:
    """``build()``'s value, built at the first call and returned by every later one.

    Callers that come while it is being built wait for it. A build that raises keeps
    nothing: the exception goes to that caller (a poll: that feed fails, logged with
    its traceback) and the next call builds again."""
    lock = threading.Lock()
    made: list[T] = []

    def value() -> T:
        if not made:
            with lock:
                if not made:
                    made.append(build())
        return made[0]

    return value


class DeferredMapping(Mapping[K, V], Generic[K, V]):
    """A read-only mapping whose items ``build()`` makes at the first look into it."""

    __slots__ = ("_value",)

    def __init__(self, build: Callable[[], Mapping[K, V]]) -> None:
        self._value = once(build)

    def build(self) -> None:
        """Make the items now (if they are not made yet)."""
        self._value()

    def __getitem__(self, key: K) -> V:
        return self._value()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def __contains__(self, key: object) -> bool:
        return key in self._value()

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        return self._value().get(key, default)

    def __repr__(self) -> str:
        return f"DeferredMapping({dict(self._value())!r})"
