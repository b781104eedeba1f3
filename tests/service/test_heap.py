"""The daemon's threads share at most two malloc arenas (glibc), so memory one thread
freed is reused by the next instead of piling up in an arena of its own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

_PROBE = """
import sys, threading
from monitor.service.heap import limit_arenas
took = limit_arenas() if sys.argv[1] == "limit" else None
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    for _ in range(2000):
        chunks = [bytearray(4096) for _ in range(20)]  # malloc, not Python's allocator
        del chunks
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
arenas = 0
for line in open("/proc/self/maps"):
    fields = line.split()
    start = int(fields[0].split("-")[0], 16)
    # glibc's other arenas: anonymous reservations aligned on HEAP_MAX_SIZE (64 MiB)
    arenas += len(fields) == 5 and fields[4] == "0" and start % (64 << 20) == 0
print(took, arenas)
"""


def arenas(mode: str, **env: str) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        timeout=60,
        check=True,
    )
    took, count = result.stdout.split()
    return took, int(count)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")
def test_eight_threads_allocating_at_once_share_two_arenas():
    _, unlimited = arenas("none")
    if unlimited <= 2:
        pytest.skip("this C library does not give threads arenas of their own")
    took, limited = arenas("limit")
    assert took == "True" and limited <= 2 < unlimited


def test_an_operators_malloc_arena_max_is_left_alone():
    took, _ = arenas("limit", MALLOC_ARENA_MAX="4")
    assert took == "False"


def test_a_c_library_without_mallopt_leaves_the_daemon_running(monkeypatch):
    """Windows has no process-wide C library to open (ctypes.CDLL(None) is a TypeError
    there), macOS no mallopt: the daemon starts all the same, arenas as they are."""
    import ctypes

    from monitor.service import heap

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    def no_library(name: object, *args: object, **kwargs: object) -> object:
        if name is None:
            raise TypeError("LoadLibrary() argument 1 must be str, not None")
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert heap.limit_arenas() is False
