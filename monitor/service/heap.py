"""The daemon's C heap: at most two malloc arenas (glibc), set before its threads start.

glibc gives threads that allocate at the same time arenas of their own, up to eight per
core, and memory freed in one arena is reused by that arena only. The daemon's poll pass
starts its threads anew every tick, so over hours the freed pieces spread over many arenas
and the resident memory crept up (tests/benchmarks/README.md, "A lean process": ~6 MiB
less after 200 ticks with two arenas). Python objects are not touched: they live in
Python's own allocator. Elsewhere than glibc, or when the operator set
``MALLOC_ARENA_MAX`` (glibc read it at start), this does nothing.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["ARENAS", "limit_arenas"]

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
