"""Hostile disks: an alert log that cannot be written, a database file that is not one.

Nothing is lost: an alert whose log line cannot be written stays in the outbox (with
its error) until the log can be written again; a file that is not a database is
refused with a message and left as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import run_monitor
from tests.support.feedgen import SUMMIT_EN, rss

pytestmark = pytest.mark.hostile


def _feed(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/f.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    return httpserver.url_for("/f.xml")


def test_an_alert_log_on_a_full_disk_loses_nothing(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    config = write_config(feeds=[{"name": "f", "url": _feed(httpserver)}], alert_log="/dev/full")
    polled = cli("poll", "-c", str(config))
    assert polled.exit_code == 0, polled.output
    stored = cli("alerts", "-c", str(config), "--json")
    assert [json.loads(x)["topic"] for x in stored.stdout.splitlines()] == ["trump-putin-summit"]
    still = cli("deliver", "-c", str(config))
    assert still.exit_code == 1  # undelivered, and said so

    # The log is writable again: the alert reaches it, once.
    good = tmp_path / "alerts.jsonl"
    config = write_config(feeds=[{"name": "f", "url": _feed(httpserver)}], alert_log=str(good))
    assert cli("deliver", "-c", str(config)).exit_code == 0
    lines = good.read_text("utf-8").splitlines()
    assert [json.loads(x)["topic"] for x in lines] == ["trump-putin-summit"]


def test_an_alert_log_that_is_a_directory_is_refused_with_a_message(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "logdir").mkdir()
    config = write_config(alert_log=str(tmp_path / "logdir"))
    done = run_monitor("poll", "-c", str(config))
    assert done.returncode == 1
    assert "Is a directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096, b"not a database at all\n" * 300])
def test_a_file_that_is_not_a_database_is_refused_and_left_alone(
    write_config: Callable[..., Path], tmp_path: Path, content: bytes
) -> None:
    db = tmp_path / "monitor.db"
    db.write_bytes(content)
    config = write_config()
    done = run_monitor("poll", "-c", str(config))
    if content == b"":
        assert done.returncode == 0  # an empty file is a new database
        return
    assert done.returncode == 1
    assert "not a database" in done.stderr and "Traceback" not in done.stderr
    assert db.read_bytes() == content
