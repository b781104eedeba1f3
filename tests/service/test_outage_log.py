"""One ``database_unavailable`` line per outage, and one ``database_available`` when it
ends, however many of the daemon's jobs (the tick, the delivery round) notice it at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config.load import load_config
from monitor.errors import StorageError
from monitor.metrics import Metrics
from monitor.service import daemon as daemon_module
from monitor.service.daemon import Daemon, start_app


class _SlowLog:
    """A logger that takes its time to write (a loaded machine): what was logged."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def _write(self, event: str, **_: Any) -> None:
        time.sleep(0.2)
        self.events.append(event)

    error = info = warning = _write


@pytest.fixture
def daemon(write_config: Callable[..., Path]) -> Iterator[Daemon]:
    path = write_config()
    app = start_app(load_config(path), None, Metrics(), threading.Event())
    assert app is not None
    running = Daemon(config=app.config, config_path=path, app=app, metrics=app.metrics)
    yield running
    running.stop.set()
    app.close()


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
