"""`monitor run` from start to exit: the database lock, the app, the console and
health/metrics listener, the jobs on a :class:`~monitor.service.timer.Timer`, the
signals, and a shutdown within the grace period. What each job does is
:class:`~monitor.service.daemon.Daemon`'s."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, overload

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.naming import channel_labels
from monitor.config.schema import Config
from monitor.errors import MonitorError
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.service import systemd
from monitor.service.app import utcnow
from monitor.service.daemon import PRUNE_AT, Daemon, tick_interval
from monitor.service.sqlite_file import AlreadyRunningError, database_file, lock_database
from monitor.service.startup import start_app
from monitor.service.timer import Timer
from monitor.topics.spec import TopicConfig
from monitor.web.app import create_app
from monitor.web.server import WebServer

if TYPE_CHECKING:
    from monitor.web.views import Console

log = get_logger("monitor.service.daemon")  # the daemon's lines, as they always were

SHUTDOWN_GRACE = 20.0
DELIVERY_INTERVAL = timedelta(seconds=2)
SWEEP_INTERVAL = timedelta(seconds=5)
"""How often kept-alive connections past their use are closed (their keep-alive time)."""


def run_daemon(config: Config, config_path: Path, *, engine: Engine | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    try:
        lock = lock_database(config.database)
    except AlreadyRunningError as exc:
        log.error("already_running", error=str(exc))
        print(f"monitor: {exc}", flush=True, file=sys.stderr)
        return 1
    metrics = Metrics()
    stop = threading.Event()
    # Until the scheduler runs, a signal only ends the wait for the database.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    app = start_app(config, engine, metrics, stop)
    if app is None:
        log.info("daemon_stopped", clean=True)
        if lock is not None:
            lock.close()
        return 0
    daemon = Daemon(
        config=config,
        config_path=config_path,
        app=app,
        metrics=metrics,
        stop=stop,
        database_file=database_file(config.database),
    )
    now = utcnow()
    if (now.hour, now.minute) >= PRUNE_AT:
        daemon.pruned_on = now.date().isoformat()  # tonight's prune is tomorrow's
    health: WebServer | None = None
    if config.http.listen:
        try:
            health = _web_server(config, daemon, metrics)
            health.start()
        except (OSError, MonitorError) as exc:
            log.error("health_listen_failed", listen=config.http.listen, error=str(exc))
            app.close()
            return 1
    scheduler = Timer()
    interval = tick_interval(config).total_seconds()
    scheduler.add_job("poll-tick", daemon.tick, interval)
    delivery_every = DELIVERY_INTERVAL.total_seconds()
    scheduler.add_job("deliver", daemon.deliver, delivery_every, first=delivery_every)
    scheduler.add_job("prune", daemon.prune_nightly, 60.0, first=60.0)
    sweep_every = SWEEP_INTERVAL.total_seconds()
    scheduler.add_job("sweep", daemon.sweep_connections, sweep_every, first=sweep_every)
    daemon.scheduler = scheduler
    signal.signal(signal.SIGTERM, daemon.on_signal)
    signal.signal(signal.SIGINT, daemon.on_signal)
    signal.signal(
        signal.SIGHUP,
        lambda *_: threading.Thread(
            target=daemon.request_reload, name="reload", daemon=True
        ).start(),
    )
    log.info(
        "daemon_started",
        feeds=len(config.feeds),
        topics=len(config.topics),
        tick=interval,
        listen=config.http.listen,
        pid=os.getpid(),
        config=str(config_path),
        database=storage.redacted(config.database),
        alert_log=config.alert_log,
    )
    # Looks at least twice per watchdog period (systemd's advice), every 5 s at most.
    watch_every = min(5.0, (systemd.watchdog_interval() or 10.0) / 2)
    threading.Thread(
        target=daemon.watch_ticks, args=(watch_every,), name="tick-watch", daemon=True
    ).start()
    systemd.ready()
    try:
        scheduler.start()
    finally:
        finished = daemon._busy.acquire(timeout=SHUTDOWN_GRACE)
        if health is not None:
            health.stop()
        try:
            daemon.app.close()
        except Exception as exc:  # the database may be gone: leases expire by themselves
            log.warning("shutdown_cleanup_failed", error=str(exc)[:300])
        log.info("daemon_stopped", clean=finished, exit_code=daemon.exit_code)
        if lock is not None:
            lock.close()
    if not finished:
        # In-flight work is abandoned safely (its transaction never committed, its
        # leases expire); worker threads may still be blocked in I/O: don't wait.
        os._exit(daemon.exit_code)
    return daemon.exit_code


class _LiveTopics(Sequence[TopicConfig]):
    """The daemon's topics as they are now (a SIGHUP reload may change them)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    @overload
    def __getitem__(self, index: int) -> TopicConfig: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TopicConfig]: ...
    def __getitem__(self, index: int | slice) -> TopicConfig | Sequence[TopicConfig]:
        return self._daemon.config.topics[index]

    def __len__(self) -> int:
        return len(self._daemon.config.topics)


def _web_server(config: Config, daemon: Daemon, metrics: Metrics) -> WebServer:
    """The console beside /healthz and /metrics on ``http.listen``, on uvicorn in a thread
    (slow clients and large pages never hold up a tick). The console's pages are built
    at their first request (:mod:`monitor.web.app`)."""

    def console() -> Console:
        from monitor.web.views import Console

        return Console(
            engine=daemon.app.engine,
            topics=_LiveTopics(daemon),
            channels=channel_labels(config.notify),
        )

    app = create_app(console, token=config.http.token, check=daemon.health, metrics=metrics)
    return WebServer(str(config.http.listen), app)
