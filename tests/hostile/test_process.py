"""Process and clock faults under a real `monitor run`: wall-clock steps both ways, the
SQLite file deleted or replaced under it.

The clock is stepped with libfaketime (Debian's ``faketime``) for the daemon alone, its
monotonic clock left real, as an NTP step or a VM restore leaves it; without the
library those cases skip with a reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.support.daemon_support import Daemon, LiveFeed, topics_of
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

FAKETIME_LIBS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
)


def _faketime() -> str:
    for lib in FAKETIME_LIBS:
        if Path(lib).exists():
            return lib
    pytest.skip("libfaketime is not installed (apt-get install faketime)")


def _events(daemon: Daemon, name: str) -> list[dict[str, object]]:
    return [e for e in daemon.logs() if e.get("event") == name]


class _StepDaemon(Daemon):
    """`monitor run` under libfaketime: its wall clock is what ``offset_file`` says."""

    def __init__(self, config: Path, offset_file: Path, lib: str) -> None:
        self.offset_file = offset_file
        offset_file.write_text("+0\n")
        saved = dict(os.environ)
        os.environ.update(
            LD_PRELOAD=lib,
            FAKETIME_TIMESTAMP_FILE=str(offset_file),
            FAKETIME_NO_CACHE="1",
            FAKETIME_DONT_FAKE_MONOTONIC="1",
            FAKETIME_DONT_RESET="1",
        )
        try:
            super().__init__(config)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def step(self, offset: str) -> None:
        self.offset_file.write_text(offset + "\n")


def test_clock_steps_back_and_forward_ticks_and_alerts_go_on(
    httpserver: HTTPServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    lib = _faketime()
    feed = LiveFeed(httpserver, "/live.xml")
    config = write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}], tick="1s")
    daemon = _StepDaemon(config, tmp_path / "faketime", lib)
    log = tmp_path / "alerts.jsonl"
    try:
        daemon.wait_for(lambda: bool(_events(daemon, "feed_polled")), 30, "the first poll")

        daemon.step("-1h")  # an NTP correction, a VM restored from a snapshot
        time.sleep(1.5)  # a tick or so on the stepped clock
        feed.items = [OTHER_EN, SUMMIT_EN]
        daemon.wait_for(lambda: "trump-putin-summit" in topics_of(log), 15, "alert after -1h")

        daemon.step("+0")  # the clock put right again
        feed.items = [OTHER_EN, SUMMIT_EN, PEACE_EN]
        daemon.wait_for(lambda: "peace-council" in topics_of(log), 15, "alert after restore")

        daemon.step("+400d")
        polled = len(_events(daemon, "feed_polled"))
        ticks = len(_events(daemon, "tick_finished"))
        daemon.wait_for(
            lambda: (
                len(_events(daemon, "tick_finished")) >= ticks + 3
                and len(_events(daemon, "feed_polled")) >= polled + 2
            ),
            15,
            "ticks and polls after +400d",
        )
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert not _events(daemon, "job_failed")
    steps = [e["seconds"] for e in _events(daemon, "clock_stepped")]
    assert len(steps) == 3 and steps[0] < -3500 and steps[1] > 3500 and steps[2] > 399 * 86400


def _database_daemon(
    httpserver: HTTPServer, write_config: Callable[..., Path], daemons: Callable[[Path], Any]
) -> tuple[Any, LiveFeed]:
    feed = LiveFeed(httpserver, "/live.xml")
    config = write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}], tick="1s")
    daemon = daemons(config)
    daemon.wait_for(lambda: bool(_events(daemon, "feed_polled")), 30, "the first poll")
    return daemon, feed


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_database_file_deleted_or_replaced_stops_the_daemon_loudly(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    daemons: Callable[[Path], Any],
    tmp_path: Path,
    how: str,
) -> None:
    daemon, feed = _database_daemon(httpserver, write_config, daemons)
    db = tmp_path / "monitor.db"
    if how == "deleted":
        db.unlink()
    else:
        db.rename(tmp_path / "old.db")
        db.write_bytes(b"")
    feed.items = [OTHER_EN, Item("Trump and Putin meet in Anchorage", "https://e.org/a")]

    started = time.monotonic()
    code = daemon.proc.wait(timeout=30)
    assert code == 1
    lost = _events(daemon, "database_file_lost")
    assert lost and lost[0]["level"] == "critical" and str(db) in str(lost[0]["path"])
    assert time.monotonic() - started < 30
