"""Fixtures of the daemon's tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.metrics import Metrics
from monitor.service.daemon import Daemon
from monitor.service.startup import start_app


@pytest.fixture
def daemon(write_config: Callable[..., Path]) -> Iterator[Daemon]:
    """A daemon on a fresh configuration, not started: its jobs are called by the test."""
    path = write_config()
    app = start_app(load_config(path), None, Metrics(), threading.Event())
    assert app is not None
    running = Daemon(config=app.config, config_path=path, app=app, metrics=app.metrics)
    yield running
    running.stop.set()
    app.close()
