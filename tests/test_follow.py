"""`monitor alerts`: filters, the JSON schema of SPEC.md, the table, and `--follow`
printing what another process commits."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import REPO, run_cli, run_monitor, write_config_file
from tests.support.daemon_support import LiveFeed
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss

NEW_PEACE = Item(
    "Kazakhstan joins Trump's Board of Peace",
    "https://news.example.org/world/kazakhstan-board-of-peace",
)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

NO_DATE_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>undated</title><link>http://127.0.0.1/</link>
<description>t</description>
<item><title>Kazakhstan joins Trump's Board of Peace</title>
<link>https://undated.example.org/kz-board-of-peace</link></item>
</channel></rss>"""


def lines_of(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def two_feeds(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feed a carries the summit story (detected 3 h ago), b the peace-council story
    and an undated one (detected now). Made once for the module: its tests only read."""
    server, tmp_path = make_httpserver, tmp_path_factory.mktemp("two_feeds")
    server.expect_request("/a.xml").respond_with_data(rss([SUMMIT_EN, OTHER_EN]))
    server.expect_request("/b.xml").respond_with_data(rss([PEACE_EN]))
    server.expect_request("/u.xml").respond_with_data(NO_DATE_RSS)
    feeds = [
        {"name": "a", "url": server.url_for("/a.xml")},
        {"name": "b", "url": server.url_for("/b.xml")},
        {"name": "undated", "url": server.url_for("/u.xml")},
    ]
    config = write_config_file(tmp_path, feeds)
    try:
        assert run_cli("poll", "-c", str(config), "--feed", "a").exit_code == 0
        with sqlite3.connect(tmp_path / "monitor.db") as db:
            db.execute(
                "UPDATE alerts SET detected_at = datetime(detected_at, '-3 hours'), "
                "seq = seq - 10800000000"
            )
        assert run_cli("poll", "-c", str(config)).exit_code == 0
    finally:
        server.clear()  # the session's server: no handler of ours outlives the polls
    return config


def test_json_lines_follow_the_spec_schema(two_feeds, cli):
    alerts = lines_of(cli("alerts", "-c", str(two_feeds), "--json"))

    assert [a["topic"] for a in alerts] == [
        "trump-putin-summit",
        "peace-council",
        "peace-council",
    ]  # newest last
    for alert in alerts:
        assert {
            "id",
            "topic",
            "title",
            "url",
            "feed",
            "published",
            "detected_at",
            "evidence",
        } <= set(alert)
        assert isinstance(alert["id"], str) and alert["id"]
        assert alert["url"].startswith("https://")
        assert ISO_Z.match(alert["detected_at"])
        assert alert["published"] is None or ISO_Z.match(alert["published"])
        assert alert["evidence"]
        for item in alert["evidence"]:
            assert {"term", "field", "snippet"} <= set(item)
            assert item["field"] in ("title", "summary", "content")
    undated = next(a for a in alerts if a["feed"] == "undated")
    assert undated["published"] is None


def test_since_limit_feed_and_topic_filters(two_feeds, cli):
    def ids(*args: str) -> list[str]:
        return [a["feed"] for a in lines_of(cli("alerts", "-c", str(two_feeds), "--json", *args))]

    assert ids("--since", "2h") == ["b", "undated"]
    assert ids("--since", "4h") == ["a", "b", "undated"]
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%MZ")
    assert ids("--since", two_hours_ago) == ["b", "undated"]
    assert ids("--since", (datetime.now(UTC) - timedelta(hours=4)).isoformat()) == [
        "a",
        "b",
        "undated",
    ]
    assert ids("--limit", "1") == ["undated"]
    assert ids("--limit", "2") == ["b", "undated"]
    assert ids("--feed", "a") == ["a"]
    assert ids("--topic", "peace-council", "--limit", "5") == ["b", "undated"]
    bad = cli("alerts", "-c", str(two_feeds), "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "--since" in bad.output


def test_readable_table_is_rendered_by_rich(two_feeds, monkeypatch):
    from monitor import storage
    from monitor.render import alert_line, print_alerts_table

    engine = storage.open_database(f"sqlite:///{two_feeds.parent / 'monitor.db'}")
    alerts = [a for _, a in storage.list_alerts(engine)]
    engine.dispose()
    monkeypatch.setenv("COLUMNS", "240")  # a wide terminal: nothing folded
    out = io.StringIO()

    print_alerts_table(alerts, out)

    table = out.getvalue()
    assert "┃" in table and "━" in table  # rich's heavy header rule
    for column in ("detected (UTC)", "topic", "feeds", "title", "published", "terms"):
        assert column.split()[0] in table
    assert "trump-putin-summit" in table and "peace-council" in table
    assert "\x1b[" not in table  # no escape codes into a file
    line = alert_line(alerts[0])
    assert "trump-putin-summit" in line and SUMMIT_EN.title in line


def test_the_table_prints_markup_in_titles_literally(monkeypatch):
    from monitor.render import print_alerts_table
    from monitor.types import Alert

    alert = Alert(
        id="x",
        topic="t",
        title="[bold red]not markup[/] \x1b[2J",
        url=None,
        feed="f",
        published=None,
        detected_at=datetime.now(UTC),
        evidence=(),
    )
    monkeypatch.setenv("COLUMNS", "240")
    out = io.StringIO()

    print_alerts_table([alert], out)

    assert "[bold red]not markup[/]" in out.getvalue()
    assert "\x1b" not in out.getvalue()


IGNORE_SIGINT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Follower:
    """`monitor alerts --follow --json` as a subprocess; its lines arrive on a queue."""

    def __init__(self, config: Path, *args: str, ignore_sigint: bool = False) -> None:
        # As a shell starts a background job: SIGINT ignored, and exec keeps it ignored.
        shell_job = [sys.executable, "-c", IGNORE_SIGINT_THEN_EXEC] if ignore_sigint else []
        self.proc = subprocess.Popen(
            [
                *shell_job,
                sys.executable,
                "-m",
                "monitor",
                "alerts",
                "-c",
                str(config),
                "--follow",
                "--json",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.strip():
                self.lines.put((time.monotonic(), json.loads(line)))

    def next(self, timeout: float) -> tuple[float, dict[str, Any]]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no alert printed within {timeout} s") from None


@pytest.fixture
def follower() -> Iterator[list[Follower]]:
    made: list[Follower] = []
    yield made
    for f in made:
        if f.proc.poll() is None:
            f.proc.kill()
        f.proc.wait()


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_follow_prints_what_another_process_commits_and_stops_on_a_signal(
    httpserver, write_config, follower, stop_with
):
    """Started the way ``monitor alerts --follow &`` is from a shell, with SIGINT
    ignored: Ctrl-C (SIGINT) and ``kill`` (SIGTERM) still end it cleanly."""
    feed = LiveFeed(httpserver, "/live.xml")
    feed.items = [SUMMIT_EN, PEACE_EN]
    config = write_config(feeds=[{"name": "live", "url": feed.url}])
    assert run_monitor("poll", "-c", str(config)).returncode == 0
    follow = Follower(config, "--limit", "1", ignore_sigint=True)
    follower.append(follow)
    _, first = follow.next(timeout=60)  # the newest stored one: it is running now
    assert first["title"] in (SUMMIT_EN.title, PEACE_EN.title)

    feed.items = [SUMMIT_EN, PEACE_EN, NEW_PEACE]
    poll = run_monitor("poll", "-c", str(config))

    assert poll.returncode == 0, poll.stderr
    _, alert = follow.next(timeout=60)  # a generous ceiling, not a latency promise
    assert alert["topic"] == "peace-council" and alert["title"] == NEW_PEACE.title

    follow.proc.send_signal(stop_with)
    assert follow.proc.wait(timeout=60) == 0
    assert follow.lines.empty()  # nothing printed twice, nothing --limit left out


@pytest.mark.slow
def test_follow_prints_an_alert_whose_poll_started_long_before_its_commit(
    httpserver, write_config, follower, request
):
    """An alert is stamped with the time its feed's poll started. A slow feed's alert
    can commit after a newer one from a faster poll: --follow must print both."""
    slow = LiveFeed(httpserver, "/slow.xml")
    fast_server = HTTPServer(host="127.0.0.1")  # its own server: the slow one is busy
    fast_server.start()
    request.addfinalizer(fast_server.stop)
    fast = LiveFeed(fast_server, "/fast.xml")
    config = write_config(
        feeds=[{"name": "slow", "url": slow.url}, {"name": "fast", "url": fast.url}]
    )
    assert run_monitor("poll", "-c", str(config)).returncode == 0
    follow = Follower(config)
    follower.append(follow)
    slow.items, slow.delay = [PEACE_EN], 14.0
    fast.items = [SUMMIT_EN]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    slow_poll = subprocess.Popen(
        [sys.executable, "-m", "monitor", "poll", "-c", str(config), "--feed", "slow"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(12)
        assert run_monitor("poll", "-c", str(config), "--feed", "fast").returncode == 0
        assert follow.next(timeout=5)[1]["feed"] == "fast"
        assert slow_poll.wait(timeout=30) == 0
    finally:
        if slow_poll.poll() is None:
            slow_poll.kill()
            slow_poll.wait()

    assert follow.next(timeout=5)[1]["feed"] == "slow"
