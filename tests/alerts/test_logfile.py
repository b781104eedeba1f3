"""The alert log: exactly once per alert id, across reopen, restarts and crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.alerts.logfile import AlertLog
from monitor.errors import DeliveryError


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def ids(path: Path) -> list[str]:
    found = []
    for line in lines(path):
        try:
            found.append(json.loads(line)["id"])
        except ValueError:
            continue
    return found


def test_each_alert_is_one_json_line_and_parent_dirs_are_created(tmp_path, alert_factory):
    path = tmp_path / "data" / "logs" / "alerts.jsonl"
    log = AlertLog(path)
    log.send(alert_factory("a1", title="Путин «Трамп»\nnew line"), delivery_id="d1")
    log.send(alert_factory("a2"), delivery_id="d2")
    log.close()
    first, second = (json.loads(line) for line in lines(path))
    assert first["id"] == "a1" and first["title"] == "Путин «Трамп»\nnew line"
    assert first["topic"] == "trump-putin-summit" and first["published"] == "2025-08-15T18:02:00Z"
    assert first["evidence"][0]["term"] == "Anchorage"
    assert second["id"] == "a2"


def test_a_retried_alert_is_not_written_twice_across_reopen_and_restart(tmp_path, alert_factory):
    path = tmp_path / "alerts.jsonl"
    log = AlertLog(path)
    log.send(alert_factory("a1"), delivery_id="d1")
    log.send(alert_factory("a1"), delivery_id="d1")  # retried in the same process
    log.reopen()
    log.send(alert_factory("a1"), delivery_id="d1")
    log.close()
    restarted = AlertLog(path)  # a crash fell between "appended" and "marked delivered"
    restarted.send(alert_factory("a1"), delivery_id="d1")
    restarted.send(alert_factory("a2"), delivery_id="d2")
    restarted.close()
    assert ids(path) == ["a1", "a2"]


def test_another_writer_appending_since_open_is_seen(tmp_path, alert_factory):
    path = tmp_path / "alerts.jsonl"
    daemon, deliver = AlertLog(path), AlertLog(path)  # two processes, both open
    daemon.send(alert_factory("a1"), delivery_id="d1")
    deliver.send(alert_factory("a1"), delivery_id="d1")  # `monitor deliver` retries it
    deliver.send(alert_factory("a2"), delivery_id="d2")
    daemon.send(alert_factory("a2"), delivery_id="d2")
    assert ids(path) == ["a1", "a2"]


def test_a_partial_last_line_from_a_crash_does_not_corrupt_the_next(tmp_path, alert_factory):
    path = tmp_path / "alerts.jsonl"
    log = AlertLog(path)
    log.send(alert_factory("a1"), delivery_id="d1")
    log.close()
    with path.open("ab") as handle:  # the crash cut the line of a2 short
        handle.write(b'{"id": "a2", "kind": "topic", "title": "Trump an')
    restarted = AlertLog(path)
    restarted.send(alert_factory("a2"), delivery_id="d2")
    restarted.send(alert_factory("a3"), delivery_id="d3")
    restarted.close()
    assert ids(path) == ["a1", "a2", "a3"]
    assert lines(path)[1] == '{"id": "a2", "kind": "topic", "title": "Trump an'
    assert json.loads(lines(path)[2])["title"] == "Trump and Putin meet in Anchorage"


def test_a_foreign_line_nested_past_pythons_limit_is_not_an_alert(tmp_path, alert_factory):
    """A line the log's reader cannot take (nested past Python's recursion limit) is
    skipped when the log is scanned for ids, as any foreign line is."""
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"id": "a1"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    log = AlertLog(path)
    log.send(alert_factory("a1"), delivery_id="d1")  # already there: not written again
    log.send(alert_factory("a2"), delivery_id="d2")
    log.close()
    assert lines(path)[2:] and json.loads(lines(path)[2])["id"] == "a2"
    assert len(lines(path)) == 3


def test_ids_beyond_the_tail_window_are_read_only_from_the_tail(tmp_path, alert_factory):
    path = tmp_path / "alerts.jsonl"
    log = AlertLog(path)
    for n in range(20):
        log.send(alert_factory(f"a{n}"), delivery_id=f"d{n}")
    log.close()
    size = path.stat().st_size
    small = AlertLog(path, tail_bytes=size // 2)  # starts reading mid-line
    assert "a19" in small and "a0" not in small
    small.send(alert_factory("a19"), delivery_id="d19")
    small.close()
    assert ids(path).count("a19") == 1


def test_logrotate_move_reopens_without_losing_or_repeating(tmp_path, alert_factory):
    path = tmp_path / "alerts.jsonl"
    log = AlertLog(path)
    log.send(alert_factory("a1"), delivery_id="d1")
    path.rename(tmp_path / "alerts.jsonl.1")  # logrotate, before SIGHUP arrives
    log.send(alert_factory("a2"), delivery_id="d2")
    log.send(alert_factory("a1"), delivery_id="d1")  # still known after the move
    (tmp_path / "alerts.jsonl").rename(tmp_path / "alerts.jsonl.2")
    log.reopen()  # SIGHUP
    log.send(alert_factory("a3"), delivery_id="d3")
    log.close()
    assert ids(tmp_path / "alerts.jsonl.1") == ["a1"]
    assert ids(tmp_path / "alerts.jsonl.2") == ["a2"]
    assert ids(path) == ["a3"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_a_retryable_error(alert_factory):
    log = AlertLog("/dev/full")
    with pytest.raises(DeliveryError) as info:
        log.send(alert_factory("a1"), delivery_id="d1")
    assert info.value.retryable
    assert "a1" not in log  # not remembered: the retry must write it
    log.close()


def test_a_short_write_leaves_no_partial_line(tmp_path, alert_factory, monkeypatch):
    path = tmp_path / "alerts.jsonl"
    log = AlertLog(path)
    log.send(alert_factory("a1"), delivery_id="d1")
    real_write = os.write

    def half_write(fd: int, data: bytes) -> int:  # the disk filled up mid-line
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", half_write)
    with pytest.raises(DeliveryError) as info:
        log.send(alert_factory("a2"), delivery_id="d2")
    assert info.value.retryable
    monkeypatch.undo()
    assert ids(path) == ["a1"] and path.read_bytes().endswith(b"\n")
    log.send(alert_factory("a2"), delivery_id="d2")
    log.close()
    assert ids(path) == ["a1", "a2"]
    assert len(lines(path)) == 2


CHILD = """
import sys
import time
from monitor.alerts.logfile import AlertLog
from monitor.types import Alert
from datetime import UTC, datetime
log = AlertLog(sys.argv[1])
print("ready", flush=True)
start, stop = int(sys.argv[2]), int(sys.argv[3])
for n in range(start, stop):
    alert = Alert(id=f"a{n}", topic="t", title=f"title {n}", url=None, feed="f",
                  published=None, detected_at=datetime.now(UTC), evidence=())
    log.send(alert, delivery_id=f"d{n}")
    time.sleep(0.003)  # the outbox commit that marks it delivered takes a moment too
    print(n, flush=True)  # "marked delivered"
"""


def test_sigkill_at_random_moments_leaves_each_alert_exactly_once(tmp_path):
    path = tmp_path / "alerts.jsonl"
    rng = random.Random(7)
    total, delivered, unmarked = 150, 0, 0
    window = 0.08  # widened after a round without progress (a slow fsync on a busy disk)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _round in range(200):  # bounded: a hang would be a bug, not a slow machine
        if delivered >= total:
            break
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(delivered), str(total)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"  # start the clock once it can write
        time.sleep(rng.uniform(0.0, window))
        child.send_signal(signal.SIGKILL)
        marked = child.communicate()[0].split()
        written = ids(path) if path.exists() else []
        unmarked += bool(written) and written[-1] != f"a{marked[-1] if marked else -1}"
        # Whatever was appended but not marked is retried by the next process.
        progress = int(marked[-1]) + 1 if marked else delivered
        window = 0.08 if progress > delivered else min(2.0, window * 2)
        delivered = progress
    assert ids(path) == [f"a{n}" for n in range(total)]
    assert unmarked, "no kill fell between append and mark; the test proved nothing"
