"""Hostile configuration: control characters, numbers and durations without end, files
that are not files, variables that hold a novel, terms that are not what they seem.

Every refusal is ``FILE:LINE: message`` with exit 2 (or one line naming the file when
no line applies), never a traceback, never a hang; on SIGHUP the running configuration
stays and the refusal is logged as problems.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import problems, run_monitor
from tests.support.daemon_support import LiveFeed

pytestmark = pytest.mark.hostile

HEAD = "database: sqlite:///m.db\nalert_log: a.jsonl\n"

REFUSED = {
    "nul-byte": (HEAD + "max_age: 2d\x00\n", 3, "control character U+0000"),
    "bell-in-quotes": (HEAD + 'max_age: "2\x07d"\n', 3, "control character U+0007"),
    "escape-in-key": (HEAD + "ti\x1bck: 30s\n", 3, "control character U+001B"),
    "tick-inf": (HEAD + "tick: .inf\n", 3, "tick: duration too long"),
    "tick-nan": (HEAD + "tick: .nan\n", 3, "tick: duration too long"),
    "interval-huge": (
        HEAD + "feeds:\n  - {name: a, url: 'http://x.org/', interval: 99999999999d}\n",
        4,
        "feeds[0].interval: duration too long",
    ),
    "max-age-1e308": (HEAD + "max_age: 1e308\n", 3, "max_age:"),
    "workers-huge": (HEAD + "workers: 99999999999999999999999\n", 3, "workers:"),
    "max-bytes-huge": (HEAD + "http: {max_bytes: 99999999999999}\n", 3, "max_bytes"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_bad_values_are_file_line_problems(tmp_path: Path, name: str) -> None:
    text, line, message = REFUSED[name]
    path = tmp_path / "monitor.yaml"
    path.write_bytes(text.encode("utf-8"))
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in found), found


def test_check_says_it_at_the_line_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes((HEAD + "max_age: 2d\x00\ntick: .inf\n").encode())
    done = run_monitor("check", "-c", str(path))
    assert done.returncode == 2
    assert f"{path}:3: control character U+0000" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "too-large"])
def test_files_that_are_not_configurations_are_refused_at_once(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "monitor.yaml"
        os.mkfifo(path)  # no writer: opening it would block for ever
        expected = "a FIFO"
    elif kind == "dev-zero":
        path, expected = Path("/dev/zero"), "a device"
    elif kind == "directory":
        path, expected = tmp_path, "a directory"
    else:
        path = tmp_path / "monitor.yaml"
        with path.open("wb") as out:
            out.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NULs
        expected = "larger than 4 MiB"
    done = run_monitor("check", "-c", str(path), timeout=30)
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_a_variable_holding_megabytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("database: sqlite:///m.db\nalert_log: ${LOG}\n", "utf-8")
    found = problems(path, env={"LOG": "x" * (8 * 1024 * 1024)})
    assert found == [
        f"{path}:2: alert_log: environment variable LOG holds 8388608 characters, "
        "more than 65536 (is it the right one?)"
    ]


def test_check_warns_of_regex_looking_terms_and_stop_words(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        HEAD
        + "topics:\n  - id: t\n    name: T\n    all:\n      - [Trump]\n"
        + "      - ['[a-z]+', '(?i)putin', the, und, Gipfel*]\n",
        "utf-8",
    )
    done = run_monitor("check", "-c", str(path))
    assert done.returncode == 0, done.stderr
    warned = [
        line for line in done.stderr.splitlines() if ": warning: " in line and "term " in line
    ]
    assert [w.split("term ")[1].split(" ")[0] for w in warned] == [
        "'[a-z]+'",
        "'(?i)putin'",
        "'the'",
        "'und'",
    ]
    assert all(w.startswith(f"{path}:8: ") for w in warned)


@pytest.mark.slow
def test_sighup_with_a_nul_byte_keeps_the_running_configuration(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    daemons: Callable[[Path], Any],
) -> None:
    feed = LiveFeed(httpserver, "/live.xml")
    config = write_config(feeds=[{"name": "live", "url": feed.url, "interval": "1s"}], tick="1s")
    daemon = daemons(config)
    daemon.wait_for(
        lambda: any(e.get("event") == "feed_polled" for e in daemon.logs()), 30, "the first poll"
    )
    config.write_bytes(config.read_bytes() + b"tick: .inf\nmax_age: 2d\x00\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for(
        lambda: any(e.get("event") == "config_reload_failed" for e in daemon.logs()),
        10,
        "the refusal",
    )
    refused = next(e for e in daemon.logs() if e.get("event") == "config_reload_failed")
    assert any("control character U+0000" in p for p in refused["problems"])  # type: ignore[union-attr]
    polled = sum(e.get("event") == "feed_polled" for e in daemon.logs())
    daemon.wait_for(
        lambda: sum(e.get("event") == "feed_polled" for e in daemon.logs()) > polled + 1,
        10,
        "polls going on",
    )
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.stderr_path.read_text()
