"""What is built at first use (the topics compiled, the alert policy's tables): the
daemon builds it before its first tick and at each reload; a poll builds it before the
store's transaction, never while it holds the database's write lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import monitor.topics
from monitor.config.load import load_config
from monitor.errors import TermError
from monitor.metrics import Metrics
from monitor.service.app import App, build_app
from monitor.service.daemon import Daemon
from monitor.service.startup import start_app
from monitor.topics import TopicSet
from monitor.topics.spec import TopicConfig
from tests.support.feedgen import OTHER_EN, SUMMIT_EN, rss

SUMMIT = {"id": "summit", "all": [["Trump"], ["Putin"], ["summit"]]}
PEACE = {"id": "peace", "any": ["Board of Peace"]}


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The topic ids of every compile of this process's own topics, in order; a topic
    named ``unbuildable`` fails to compile (as a term the engine refuses would)."""
    calls: list[list[str]] = []
    real = monitor.topics.compile_topics

    def compile_topics(configs: Sequence[TopicConfig], *args: Any, **kwargs: Any) -> TopicSet:
        ids = [c.id for c in configs]
        calls.append(ids)
        if "unbuildable" in ids:
            raise TermError("topic unbuildable: a term the engine cannot compile")
        return real(configs, *args, **kwargs)

    monkeypatch.setattr(monitor.topics, "compile_topics", compile_topics)
    yield calls


def _start(config: Path) -> App:
    app = start_app(load_config(config), None, Metrics(), threading.Event())
    assert app is not None
    return app


def test_the_daemon_has_compiled_its_topics_before_its_first_tick(
    write_config: Callable[..., Path], compiled: list[list[str]]
) -> None:
    app = _start(write_config(topics=[SUMMIT]))
    try:
        assert compiled == [["summit"]]
        assert app.pipeline.policy.topic_names == {"summit": "summit"}
        assert compiled == [["summit"]]  # built once, not again at first use
    finally:
        app.close()


def test_a_topic_that_cannot_be_compiled_stops_the_daemon_at_start(
    write_config: Callable[..., Path], compiled: list[list[str]]
) -> None:
    with pytest.raises(TermError, match="unbuildable"):
        _start(write_config(topics=[SUMMIT, {**PEACE, "id": "unbuildable"}]))


def test_a_reload_whose_topics_cannot_be_compiled_keeps_the_running_configuration(
    write_config: Callable[..., Path], compiled: list[list[str]]
) -> None:
    path = write_config(topics=[SUMMIT])
    app = _start(path)
    daemon = Daemon(
        config=app.config, config_path=path, app=app, metrics=Metrics(), stop=threading.Event()
    )
    try:
        write_config(topics=[SUMMIT, {**PEACE, "id": "unbuildable"}])
        with capture_logs() as logs:
            daemon.request_reload()
            daemon.tick()
        events = [e["event"] for e in logs]
        assert "config_reload_failed" in events and "config_reloaded" not in events
        failed = next(e for e in logs if e["event"] == "config_reload_failed")
        assert "unbuildable" in str(failed["problems"])
        assert daemon.app is app and [t.id for t in daemon.config.topics] == ["summit"]

        write_config(topics=[SUMMIT, PEACE])
        with capture_logs() as logs:
            daemon.request_reload()
            daemon.tick()
        assert "config_reloaded" in [e["event"] for e in logs]
        # The new configuration's topics were compiled by the reload, before any poll.
        assert compiled[-1] == ["summit", "peace"]
    finally:
        daemon.app.close()


def test_a_poll_builds_the_topics_while_the_database_can_be_written(
    httpserver: Any, write_config: Callable[..., Path], compiled: list[list[str]], tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([SUMMIT_EN, OTHER_EN]), content_type="application/rss+xml"
    )
    database = tmp_path / "poll.db"
    config = load_config(
        write_config(
            feeds=[{"name": "world", "url": httpserver.url_for("/feed.xml")}],
            topics=[SUMMIT],
            database=f"sqlite:///{database}",
        )
    )
    app = build_app(config)
    writable: list[bool] = []
    real = monitor.topics.compile_topics

    def compile_and_write(configs: Sequence[TopicConfig], **options: Any) -> TopicSet:
        # Another process (`monitor mute`, a daemon) writing while the topics compile.
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            writable.append(True)
        except sqlite3.OperationalError:
            writable.append(False)
        finally:
            other.close()
        return real(configs, **options)

    try:
        app.sync_feeds()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(monitor.topics, "compile_topics", compile_and_write)
            [outcome] = app.poll()
    finally:
        app.close()

    assert (outcome.status, outcome.new, len(outcome.alerts)) == ("ok", 2, 1)
    assert writable == [True]
