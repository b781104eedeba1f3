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


_TRIM_PROBE = """
import sys
from monitor.service.heap import trim_heap
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
chunks = [bytearray(16384) for _ in range(4000)]  # ~62 MiB from malloc's heap
pin = bytearray(16384)  # above them: the heap's top stays in use
del chunks
before = rss()
took = trim_heap() if sys.argv[1] == "trim" else None
print(took, before, rss())
"""


def resident_after_free(mode: str) -> tuple[str, int, int]:
    result = subprocess.run(
        [sys.executable, "-c", _TRIM_PROBE, mode],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=True,
    )
    took, before, after = result.stdout.split()
    return took, int(before), int(after)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_freed_below_the_top_of_the_heap_goes_back_after_a_trim():
    """Freed in the middle of the heap, 62 MiB stay resident (glibc trims only its top);
    the daemon's trim after each tick gives them back."""
    _, kept, still = resident_after_free("none")
    if kept - still > 8:
        pytest.skip("this C library returns such memory by itself")
    took, before, after = resident_after_free("trim")
    assert took == "True"
    assert before - after > 40, (before, after)
