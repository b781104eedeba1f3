"""The daemon's C heap: at most two malloc arenas (glibc), set before its threads start,
and the free memory at its top handed back to the system after each tick.

glibc gives threads that allocate at the same time arenas of their own, up to eight per
core, and memory freed in one arena is reused by that arena only. The daemon's poll pass
starts its threads anew every tick, so over hours the freed pieces spread over many arenas
and the resident memory crept up (tests/benchmarks/README.md, "A lean process": ~6 MiB
less after 200 ticks with two arenas). Python objects are not touched: they live in
Python's own allocator. Elsewhere than glibc, or when the operator set
``MALLOC_ARENA_MAX`` (glibc read it at start), this does nothing.

glibc returns freed memory to the system only from the top of the main heap, and only
past a threshold; what a tick freed in the middle of an arena (parsed responses, result
rows, SQLite's statements) stays resident until reused. :func:`trim_heap` asks glibc to
give back every free page (``malloc_trim``), once a tick, between ticks.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

__all__ = ["ARENAS", "limit_arenas", "trim_heap"]

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``count``; True when it took effect."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: Windows opens no None
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, count))


_trim: list[Callable[[int], int] | None] = []


def trim_heap() -> bool:
    """Give glibc's free pages back to the system; True when some were."""
    if not _trim:
        try:
            function = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError, TypeError):
            _trim.append(None)
        else:
            function.argtypes = (ctypes.c_size_t,)
            function.restype = ctypes.c_int
            _trim.append(function)
    trim = _trim[0]
    return bool(trim(0)) if trim is not None else False
