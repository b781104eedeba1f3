"""The daemon's health while a parser worker compiles the topics (after a reload, or a
new worker's start): up to the pool's build deadline (5 minutes), longer than the health
slack of the fetch and parse deadlines. A daemon compiling is not stale; one whose ticks
stopped for anything else still is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from monitor.config.load import load_config
from monitor.metrics import Metrics
from monitor.parsing.pool import WorkerContext
from monitor.service.app import utcnow
from monitor.service.daemon import Daemon
from monitor.service.startup import start_app
from tests.test_sifting import URL

BUILD_S = 8.0
"""The compile of this test's topics (a real one at 10,000 topics: ~3.4 s, at worst the
pool's build deadline)."""


def _limit(daemon: Daemon) -> timedelta:
    return timedelta(seconds=float(daemon.health()[1]["tick_limit_seconds"]))


def _wait(what: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120  # a generous ceiling on a loaded machine
    while not what():
        assert time.monotonic() < deadline, "waited 120 s"
        time.sleep(0.05)


def test_a_daemon_whose_worker_compiles_the_topics_is_not_stale_for_it(
    write_config: Callable[..., Path],
) -> None:
    path = write_config()
    app = start_app(load_config(path), None, Metrics(), threading.Event())
    assert app is not None
    daemon = Daemon(config=app.config, config_path=path, app=app, metrics=app.metrics)
    try:
        limit = _limit(daemon)
        compiled: list[object] = []
        job = threading.Thread(
            target=lambda: compiled.append(
                app.parser.run(
                    "tests.test_sifting:with_context",
                    b"",
                    url=URL,
                    headers={},
                    deadline=30,
                    context=WorkerContext("tests.test_sifting:sleepy_build", "v1", BUILD_S),
                )
            )
        )
        job.start()
        try:
            # three seconds into the compile (however long the worker took to start),
            # the last tick finished a second past the limit: stale but for the compile
            _wait(lambda: app.parser.builds.seconds() >= 3)
            daemon.last_tick = utcnow() - limit - timedelta(seconds=1)
            assert job.is_alive()  # still compiling (it takes BUILD_S)
            healthy, details = daemon.health()
            assert healthy, details
        finally:
            job.join(timeout=120)
        assert compiled == [f"built in {BUILD_S}s"]
        # done compiling, the tick it held back is still excused for it
        healthy, details = daemon.health()
        assert healthy, details
        # and no longer than that: past the limit by more than the compile, stale
        daemon.last_tick = utcnow() - limit - timedelta(seconds=BUILD_S + 30)
        healthy, details = daemon.health()
        assert not healthy and "last tick finished" in str(details["reason"]), details
        # nor after the next tick: the compile held back the one before it, not this one
        daemon.tick()
        daemon.last_tick = utcnow() - limit - timedelta(seconds=1)
        healthy, details = daemon.health()
        assert not healthy and "last tick finished" in str(details["reason"]), details
    finally:
        app.close()
