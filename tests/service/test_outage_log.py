"""One ``database_unavailable`` line per outage, and one ``database_available`` when it
ends, however many of the daemon's jobs (the tick, the delivery round) notice it at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from monitor.errors import StorageError
from monitor.service import daemon as daemon_module
from monitor.service.daemon import Daemon


class _SlowLog:
    """A logger that takes its time to write (a loaded machine): what was logged."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def _write(self, event: str, **_: Any) -> None:
        time.sleep(0.2)
        self.events.append(event)

    error = info = warning = _write


def _at_once(*jobs: Callable[[], None]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_two_jobs_noticing_an_outage_at_once_log_it_once(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = _SlowLog()
    monkeypatch.setattr(daemon_module, "log", slow)
    gone = StorageError("connection refused")
    _at_once(lambda: daemon._db_down(gone), lambda: daemon._db_down(gone))
    _at_once(daemon._db_up, daemon._db_up)
    assert slow.events == ["database_unavailable", "database_available"]
