"""A finished `monitor poll` ends its process without Python's teardown
(:mod:`monitor.teardown`): nothing it wrote may be lost on the way out, and a command
that fails keeps its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.support.feedgen import OTHER_EN, SUMMIT_EN, rss


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,  # pipes: stdout and stderr are block-buffered
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_a_finished_poll_ends_with_its_report_log_lines_and_alerts_written(
    tmp_path, write_config, httpserver
):
    httpserver.expect_request("/summit.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    httpserver.expect_request("/other.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    feeds = [{"name": "summit", "url": httpserver.url_for("/summit.xml")}]
    feeds += [
        {"name": f"other-{i:03}", "url": httpserver.url_for("/other.xml")} for i in range(150)
    ]
    config = write_config(feeds=feeds)

    result = run("poll", "-c", str(config), "--log-format", "json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 152  # a line per feed and the summary, every byte flushed
    assert lines[-1].startswith("polled 151 feeds: ")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert sorted(e["feed"] for e in events if e["event"] == "feed_polled") == sorted(
        f["name"] for f in feeds
    )
    alerts = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["title"] for line in alerts] == [SUMMIT_EN.title]

    again = run("poll", "-c", str(config), "--log-format", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.splitlines()[-1] == "polled 151 feeds: 0 new articles, 0 alerts, 0 failed"


def test_a_poll_that_fails_keeps_its_exit_status(tmp_path, write_config):
    config = write_config(feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    result = run("poll", "-c", str(config), "--feed", "nosuch", cwd=tmp_path)
    assert result.returncode == 2
    assert "no feed named 'nosuch'" in result.stderr
