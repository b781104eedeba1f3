"""`monitor run` as a real subprocess against feeds served from 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import yaml

from tests.conftest import REPO
from tests.support.daemon_support import LiveFeed, topics_of
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item
from tests.support.ports import free_port


def test_new_item_reaches_the_alert_log_and_sigterm_exits_0(
    httpserver, write_config, daemons, tmp_path
):
    feed = LiveFeed(httpserver, "/live.xml")
    config = write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}])
    daemon = daemons(config)
    log = tmp_path / "alerts.jsonl"
    daemon.wait_for(
        lambda: any(e.get("event") == "feed_polled" for e in daemon.logs()), 30, "the first poll"
    )

    feed.items = [OTHER_EN, SUMMIT_EN]
    # How soon is a benchmark's question; here the new item must reach the log at all.
    daemon.wait_for(lambda: "trump-putin-summit" in topics_of(log), 60, "the alert")

    assert daemon.stop() == 0
    events = [e.get("event") for e in daemon.logs()]
    assert "daemon_started" in events and "daemon_stopped" in events
    assert topics_of(log) == ["trump-putin-summit"]


def test_sighup_adds_a_topic_and_a_broken_file_keeps_the_old_one(
    httpserver, write_config, daemons, tmp_path
):
    feed = LiveFeed(httpserver, "/live.xml")
    summit_only = [
        t
        for t in yaml.safe_load((REPO / "config/monitor.yaml").read_text())["topics"]
        if t["id"] == "trump-putin-summit"
    ]
    config = write_config(
        feeds=[{"name": "live", "url": feed.url, "interval": "1s"}], topics=summit_only
    )
    daemon = daemons(config)
    log = tmp_path / "alerts.jsonl"
    daemon.wait_for(
        lambda: any(e.get("event") == "feed_polled" for e in daemon.logs()), 30, "the first poll"
    )

    feed.items = [OTHER_EN, PEACE_EN]
    time.sleep(2.5)
    assert topics_of(log) == []  # peace-council is not configured yet

    write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}])
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(
        lambda: any(e.get("event") == "config_reloaded" for e in daemon.logs()), 10, "the reload"
    )
    # The item was seen before the topic existed; a new one of that topic alerts.
    second = Item(
        "Kazakhstan joins Trump's Board of Peace",
        "https://news.example.org/world/kazakhstan-board-of-peace",
    )
    feed.items = [OTHER_EN, PEACE_EN, second]
    daemon.wait_for(lambda: "peace-council" in topics_of(log), 10, "the new topic's alert")

    config.write_text("feeds: [\n  - {name: broken\n", "utf-8")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(
        lambda: any(e.get("event") == "config_reload_failed" for e in daemon.logs()),
        10,
        "the refused reload",
    )
    failed = next(e for e in daemon.logs() if e.get("event") == "config_reload_failed")
    assert "monitor.yaml:" in json.dumps(failed)
    feed.items = [OTHER_EN, PEACE_EN, second, SUMMIT_EN]
    daemon.wait_for(
        lambda: "trump-putin-summit" in topics_of(log), 10, "an alert under the old configuration"
    )
    assert daemon.stop() == 0


def test_sighup_says_which_settings_need_a_restart(httpserver, write_config, daemons, tmp_path):
    """The open database and the bound listener stay; the operator is told so, and the
    rest of the file (here a new feed) is applied."""
    feed = LiveFeed(httpserver, "/live.xml")
    other = LiveFeed(httpserver, "/other.xml")
    other.items = [SUMMIT_EN]
    port = free_port()
    http = {"allow_private_networks": True, "listen": f"127.0.0.1:{port}"}
    config = write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}], http=http)
    daemon = daemons(config)
    daemon.wait_for(
        lambda: any(e.get("event") == "tick_finished" for e in daemon.logs()), 30, "a tick"
    )

    write_config(
        feeds=[
            {"name": "live", "url": feed.url, "interval": "1s"},
            {"name": "other", "url": other.url, "interval": "1s"},
        ],
        http={**http, "listen": f"127.0.0.1:{free_port()}"},
        database=f"sqlite:///{tmp_path / 'elsewhere.db'}",
    )
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(
        lambda: any(e.get("event") == "config_restart_required" for e in daemon.logs()),
        10,
        "the warning",
    )

    [warning] = [e for e in daemon.logs() if e.get("event") == "config_restart_required"]
    assert warning["settings"] == ["database", "http.listen"]
    assert warning["level"] == "warning"
    daemon.wait_for(
        lambda: "trump-putin-summit" in topics_of(tmp_path / "alerts.jsonl"),
        10,
        "the new feed's alert",
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
        assert resp.status == 200  # still on the port it started with
    assert not (tmp_path / "elsewhere.db").exists()
    assert daemon.stop() == 0


def test_sigterm_during_a_slow_fetch_exits_0_within_the_grace(httpserver, write_config, daemons):
    feed = LiveFeed(httpserver, "/slow.xml")
    config = write_config(feeds=[{"name": "slow", "url": feed.url, "interval": "1s"}])
    daemon = daemons(config)
    daemon.wait_for(
        lambda: any(e.get("event") == "feed_polled" for e in daemon.logs()), 30, "the first poll"
    )
    feed.delay = 4
    time.sleep(1.5)  # a fetch is now in flight

    start = time.monotonic()
    code = daemon.stop(timeout=30)

    assert code == 0
    assert time.monotonic() - start < 20 + 2


def test_a_second_daemon_on_the_same_sqlite_file_is_refused(httpserver, write_config, daemons):
    feed = LiveFeed(httpserver, "/f.xml")
    config = write_config(feeds=[{"name": "f", "url": feed.url, "interval": "1s"}])
    first = daemons(config)
    first.wait_for(
        lambda: any(e.get("event") == "daemon_started" for e in first.logs()),
        30,
        "the first daemon",
    )

    second = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )

    assert second.returncode == 1
    assert "already using" in second.stderr
    assert first.proc.poll() is None
    assert first.stop() == 0


def test_healthz_and_metrics(httpserver, write_config, daemons):
    feed = LiveFeed(httpserver, "/f.xml")
    feed.items = [SUMMIT_EN]
    httpserver.expect_request("/broken.xml").respond_with_data("down", status=500)
    port = free_port()
    config = write_config(
        feeds=[
            {"name": "f", "url": feed.url, "interval": "1s"},
            {"name": "broken", "url": httpserver.url_for("/broken.xml"), "interval": "1s"},
        ],
        http={"allow_private_networks": True, "listen": f"127.0.0.1:{port}"},
    )
    daemon = daemons(config)
    daemon.wait_for(
        lambda: any(e.get("event") == "tick_finished" for e in daemon.logs()), 30, "a tick"
    )

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
        assert resp.status == 200
        assert json.loads(resp.read())
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    assert 'feed="f"' in text
    assert 'topic="trump-putin-summit"' in text
    assert "monitor_feeds_failing 1.0" in text
    ticks = re.search(r"^monitor_ticks_total (\S+)$", text, re.M)
    timed = re.search(r"^monitor_tick_duration_seconds_count (\S+)$", text, re.M)
    assert ticks and timed and float(timed.group(1)) >= 1
    assert daemon.stop() == 0
