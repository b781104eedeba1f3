"""A SQLite file is read and written for the poll threads by one thread of its own:
what SQLite keeps between statements is never made on a poll thread (issue #15)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import event

from monitor.config.load import load_config
from monitor.service.app import build_app
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, rss


def test_poll_threads_run_no_sqlite_statement_and_the_polls_are_stored(
    httpserver: HTTPServer, write_config: Callable[..., Path]
) -> None:
    bodies = {f"/{i}.xml": rss([SUMMIT_EN, PEACE_EN, OTHER_EN][: 1 + i % 3]) for i in range(12)}
    for path, body in bodies.items():
        httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    feeds = [
        {"name": f"f{i:02}", "url": httpserver.url_for(f"/{i}.xml"), "language": "en"}
        for i in range(12)
    ]
    app = build_app(load_config(write_config(feeds=feeds, workers=4)))
    threads: list[str] = []

    def record(*_args: Any) -> None:
        threads.append(threading.current_thread().name)

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        app.sync_feeds()
        first = app.poll()
        httpserver.clear()
        for path in bodies:  # every feed has the three items now: known keys are read
            httpserver.expect_request(path).respond_with_data(
                rss([SUMMIT_EN, PEACE_EN, OTHER_EN]), content_type="application/rss+xml"
            )
        second = app.poll()
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
        app.close()

    assert {o.status for o in first} == {"ok"} and len(first) == 12
    assert {o.status for o in second} == {"ok"} and len(second) == 12
    assert sum(o.new for o in first) == 24  # 1, 2 or 3 items a feed
    assert sum(o.new for o in second) == 12  # the items each feed did not have
    assert any(name.startswith("sqlite") for name in threads)
    assert not [name for name in threads if name.startswith("poll")]
