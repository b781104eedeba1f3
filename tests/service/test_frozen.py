"""The daemon leaves what its start made out of the cyclic collector's walks
(``gc.freeze``), and a reload puts it back, so a replaced configuration is freed."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from monitor.config.load import load_config
from monitor.metrics import Metrics
from monitor.service.daemon import Daemon, freeze_lasting, start_app

SUMMIT = {"id": "summit", "all": [["Trump"], ["Putin"], ["summit"]]}
PEACE = {"id": "peace", "any": ["Board of Peace"]}


@pytest.fixture
def thawed() -> Iterator[None]:
    """Whatever a test froze is thawed again for the tests after it."""
    try:
        yield
    finally:
        gc.unfreeze()


def test_the_start_is_frozen_and_a_reload_frees_the_configuration_it_replaced(
    write_config: Callable[..., Path], thawed: None
) -> None:
    path = write_config(topics=[SUMMIT])
    app = start_app(load_config(path), None, Metrics(), threading.Event())
    assert app is not None
    daemon = Daemon(
        config=app.config, config_path=path, app=app, metrics=Metrics(), stop=threading.Event()
    )
    try:
        freeze_lasting()  # as run_daemon, before its first tick
        assert gc.get_freeze_count() > 0
        # Objects of a configuration that refer to each other are only ever freed by
        # the collector (a closure over its owner, a cache holding its parent …).
        app.__dict__["self"] = app
        replaced = weakref.ref(app)
        del app
        write_config(topics=[SUMMIT, PEACE])
        with capture_logs() as logs:
            daemon.request_reload()
            daemon.tick()
        assert "config_reloaded" in [e["event"] for e in logs]
        gc.collect()
        assert replaced() is None
        assert gc.get_freeze_count() > 0  # the new configuration is frozen in its turn
    finally:
        daemon.app.close()
