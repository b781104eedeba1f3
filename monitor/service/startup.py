"""A daemon's start: its app built once the database answers, waiting with backoff for
one that is not up yet (a reboot, a restarting PostgreSQL), and the backoff itself,
which the running daemon uses during an outage too."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.config.schema import Config
from monitor.errors import StorageError
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.service.app import App, build_app

log = get_logger("monitor.service.daemon")  # the daemon's lines, as they always were

RETRY_FIRST = 1.0
RETRY_MAX = 30.0
"""Database outages: wait 1, 2, 4 … 30 s between attempts (ticks in between are skipped)."""


def start_app(
    config: Config, engine: Engine | None, metrics: Metrics, stop: threading.Event
) -> App | None:
    """Build the app, waiting (with backoff) for a database that is not up yet.

    A worker started before its database (a reboot, a restarting PostgreSQL) keeps
    trying instead of exiting; None when a signal ends the wait.
    """
    delay = RETRY_FIRST
    waited = False
    while True:
        try:
            if engine is None:
                storage.upgrade_apart(config.database)
            app = build_app(config, engine=engine, metrics=metrics)
        except StorageError as exc:
            failure: StorageError = exc
        else:
            try:
                app.sync_feeds()
            except StorageError as exc:
                app.close()
                failure = exc
            else:
                if waited:
                    log.info("database_available")
                try:
                    # Topics compiled and alert tables built before the first tick:
                    # the first new article is not kept waiting (nor its poll's
                    # lease), and a topic that cannot be built stops the start.
                    app.prepare()
                except BaseException:
                    app.close()
                    raise
                return app
        if not waited:
            log.error(
                "database_unavailable", error=str(failure)[:300], retry_in=delay, phase="startup"
            )
            waited = True
        if stop.wait(delay):
            return None
        delay = min(RETRY_MAX, delay * 2)
