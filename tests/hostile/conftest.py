"""The hostile battery's measuring tape: every case's time and peak memory.

Each case in this folder runs under :func:`measured`: wall time, the peak of Python
allocations in the test process (tracemalloc) and the peak resident size of any child
process it waited for (``ru_maxrss`` of children, which only ever grows, so only a rise
during the case is credited to it). With ``MONITOR_HOSTILE_REPORT=FILE`` set, one JSON
line per case is appended to FILE: ``tests/hostile/README.md``'s table is made from it.
"""

from __future__ import annotations

import json
import os
import resource
import time
import tracemalloc
from collections.abc import Iterator

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call":
        item.stash[_OUTCOME] = report.outcome  # type: ignore[attr-defined]
    return report


_OUTCOME = pytest.StashKey[str]()

MEMORY_BUDGET = 512 * 1024 * 1024
"""No case may allocate more than this in the test process (bounded memory)."""


@pytest.fixture(autouse=True)
def measured(request: pytest.FixtureRequest) -> Iterator[None]:
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child_peak = children_after * 1024 if children_after > children_before else 0
        report = os.environ.get("MONITOR_HOSTILE_REPORT")
        if report:
            with open(report, "a", encoding="utf-8") as out:
                out.write(
                    json.dumps(
                        {
                            "case": request.node.name,
                            "module": request.node.module.__name__.rsplit(".", 1)[-1],
                            "outcome": request.node.stash.get(_OUTCOME, "error"),
                            "seconds": round(elapsed, 2),
                            "py_peak_mib": round(peak / 2**20, 1),
                            "child_rss_mib": round(child_peak / 2**20, 1),
                        }
                    )
                    + "\n"
                )
        assert peak < MEMORY_BUDGET, f"allocated {peak / 2**20:.0f} MiB in the test process"
