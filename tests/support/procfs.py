"""What Linux's /proc says of a process's memory and CPU: read by the soak test
(tests/service/test_soak.py, of its own process) and the daemon's memory benchmark
(tests/benchmarks/bench_daemon_memory.py, of the `monitor run` it started)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["children", "cpu_seconds", "resident_kib", "rss_kib"]

Pid = int | str
"""A process id, or ``"self"``."""


def resident_kib(pid: Pid = "self") -> dict[str, int]:
    """The ``Vm*`` and ``Rss*`` lines of /proc/PID/status, KiB by name (``VmRSS``,
    ``RssAnon``, ``RssFile``, ``RssShmem``, ...); empty when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
            found[name] = int(value.split()[0])
    return found


def rss_kib(pid: Pid = "self") -> int:
    """Resident memory of ``pid``, KiB; 0 when the process is gone."""
    return resident_kib(pid).get("VmRSS", 0)


def cpu_seconds(pid: Pid = "self") -> float:
    """User + system CPU of ``pid`` so far (all its threads, not its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes (of its main thread)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
