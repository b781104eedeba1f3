"""monitor.log: what an operator reads on stderr, and what never appears there."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from monitor.log import clean_untrusted, configure_logging, get_logger

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = (
        "httpx",
        "httpcore",
        "apscheduler",
        "apscheduler.scheduler",
        "alembic",
        "alembic.runtime.migration",
        "apprise",
    )
    quiet = {n: (logging.getLogger(n).level, list(logging.getLogger(n).filters)) for n in names}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, (old, filters) in quiet.items():
        logger = logging.getLogger(name)
        logger.setLevel(old)
        logger.filters[:] = filters
    logging.captureWarnings(False)
    structlog.reset_defaults()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    get_logger("monitor.pipeline", feed="tass-en").info(
        "feed_polled", status="ok", http_status=200, new=3, matched=1, duration=0.25
    )
    [line] = json_lines(out)
    assert list(line)[:4] == ["timestamp", "level", "event", "logger"]
    assert line["event"] == "feed_polled"
    assert line["level"] == "info"
    assert line["logger"] == "monitor.pipeline"
    assert (line["feed"], line["status"], line["http_status"]) == ("tass-en", "ok", 200)
    assert (line["new"], line["matched"], line["duration"]) == (3, 1, 0.25)
    stamp = datetime.fromisoformat(line["timestamp"])
    assert line["timestamp"].endswith("Z")
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)


def test_console_when_forced() -> None:
    out = io.StringIO()
    configure_logging(fmt="console", stream=out)
    get_logger("monitor.service.daemon").info("tick_finished", feeds=12)
    text = out.getvalue()
    assert "tick_finished" in text
    assert "feeds=12" in text
    assert "\x1b[" not in text  # no colours on a stream that is not a terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_console_on_a_terminal() -> None:
    out = _Terminal()
    configure_logging(stream=out)
    get_logger("monitor.service.daemon").info("tick_finished", feeds=12)
    assert "tick_finished" in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")


def test_json_forced_on_a_terminal() -> None:
    out = _Terminal()
    configure_logging(fmt="json", stream=out)
    get_logger("x").info("config_reloaded")
    assert json_lines(out)[0]["event"] == "config_reloaded"


def test_bad_format_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging(fmt="xml")
    with pytest.raises(ValueError, match="log level"):
        configure_logging(level="loud")


def test_stdlib_loggers_go_through_the_same_renderer() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %r was missed", "tick")
    logging.getLogger("sqlalchemy.engine").error("connection lost")
    get_logger("monitor.x").warning("feed %s slow", "tass-en")
    lines = json_lines(out)
    assert [(li["logger"], li["level"], li["event"]) for li in lines] == [
        ("apscheduler.scheduler", "warning", "Run time of job 'tick' was missed"),
        ("sqlalchemy.engine", "error", "connection lost"),
        ("monitor.x", "warning", "feed tass-en slow"),
    ]
    assert all(li["timestamp"].endswith("Z") for li in lines)


def test_httpx_info_is_quiet_by_default_but_warnings_pass() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    logging.getLogger("httpx").info("HTTP Request: GET https://tass.com/rss")
    logging.getLogger("httpcore.connection").info("connect_tcp.started")
    logging.getLogger("httpx").warning("retrying")
    assert [li["event"] for li in json_lines(out)] == ["retrying"]


def test_scheduler_and_migration_chatter_is_quiet_but_what_matters_passes() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    migration = logging.getLogger("alembic.runtime.migration")
    migration.info("Context impl %s.", "SQLiteImpl")
    migration.info("Will assume non-transactional DDL.")
    migration.info("Running %s", "upgrade  -> 0001, initial schema")
    logging.getLogger("alembic.runtime.plugins").info("setup plugin")
    logging.getLogger("apscheduler.scheduler").info('Added job "tick" to job store "default"')
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    logging.getLogger("apscheduler.jobstores.default").info("Removed job tick")
    logging.getLogger("apscheduler.executors.default").info('Running job "tick"')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job 'tick' was missed")
    logging.getLogger("apscheduler.executors.default").error("Job 'tick' raised an exception")
    logging.getLogger("apscheduler.scheduler").warning(
        'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
        "Daemon.tick",
        1,
    )
    logging.getLogger("apprise").info("Sent Telegram notification to 123456789.")
    logging.getLogger("apprise").warning("Failed to send Telegram notification.")
    assert [(li["logger"], li["event"]) for li in json_lines(out)] == [
        ("alembic.runtime.migration", "Running upgrade  -> 0001, initial schema"),
        ("apscheduler.scheduler", "Run time of job 'tick' was missed"),
        ("apscheduler.executors.default", "Job 'tick' raised an exception"),
        ("apprise", "Failed to send Telegram notification."),
    ]


def test_debug_level_shows_every_library_line() -> None:
    out = io.StringIO()
    configure_logging(level="debug", stream=out)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/feed.xml")
    assert len(json_lines(out)) == 3

    configure_logging(stream=out)  # back to info: quiet again
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    assert len(json_lines(out)) == 3


def test_level_filtering() -> None:
    out = io.StringIO()
    configure_logging(level="warning", stream=out)
    log = get_logger("monitor.x")
    log.debug("d")
    log.info("i")
    log.warning("w")
    logging.getLogger("alembic").info("stdlib info")
    assert [li["event"] for li in json_lines(out)] == ["w"]

    configure_logging(level="DEBUG", stream=out)
    log.debug("now shown")
    assert json_lines(out)[-1]["event"] == "now shown"


def test_calling_twice_does_not_duplicate_lines() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    configure_logging(stream=out)
    get_logger("x").info("once")
    logging.getLogger("y").warning("once too")
    assert len(json_lines(out)) == 2


def test_reconfigure_switches_stream_and_format() -> None:
    first, second = io.StringIO(), io.StringIO()
    log = get_logger("monitor.early")  # created before any configuration, like a module logger
    configure_logging(stream=first)
    log.info("one")
    configure_logging(fmt="console", stream=second)
    log.info("two")
    assert [li["event"] for li in json_lines(first)] == ["one"]
    assert "two" in second.getvalue()
    assert "two" not in first.getvalue()


def test_exceptions_carry_their_traceback() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    try:
        raise RuntimeError("tick failed")
    except RuntimeError:
        get_logger("monitor.service.daemon").exception("tick_error")
        logging.getLogger("apscheduler.executors.default").exception("Job raised")
    ours, theirs = json_lines(out)
    assert "RuntimeError: tick failed" in ours["exception"]
    assert "Traceback" in ours["exception"]
    assert "RuntimeError: tick failed" in theirs["exception"]


def test_secrets_never_appear() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    get_logger("monitor.alerts").info(
        "alert_delivered",
        channel="webhook:abc",
        webhook_url="https://hooks.example.org/T0/B1/hooksecret1",
        webhook="https://hooks.example.org/T0/B1/hooksecret2",
        smtp_password="pw-secret3",
        token="tok-secret4",
        headers={"Authorization": "Bearer bearer-secret5", "Accept": "*/*"},
        database="postgresql+psycopg://mon:dbsecret6@db/monitor",
        error="POST https://api.example.org/send?api_key=keysecret7&x=1 failed",
        secret=None,
    )
    logging.getLogger("sqlalchemy.pool").warning(
        "cannot connect to postgresql://mon:dbsecret8@db/monitor"
    )
    text = out.getvalue()
    for n, secret in enumerate(
        ["hooksecret1", "hooksecret2", "pw-secret3", "tok-secret4", "bearer-secret5"], 1
    ):
        assert secret not in text, n
    for secret in ("dbsecret6", "keysecret7", "dbsecret8"):
        assert secret not in text
    ours, theirs = json_lines(out)
    assert ours["webhook_url"] == ours["smtp_password"] == ours["token"] == "***"
    assert ours["headers"] == {"Authorization": "***", "Accept": "*/*"}
    assert ours["database"] == "postgresql+psycopg://mon:***@db/monitor"
    assert ours["error"] == "POST https://api.example.org/send?api_key=***&x=1 failed"
    assert ours["channel"] == "webhook:abc"  # a key merely mentioning a channel kind stays
    assert ours["secret"] is None
    assert theirs["event"] == "cannot connect to postgresql://mon:***@db/monitor"


def test_untrusted_strings_are_cleaned_and_truncated() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    title = "Breaking\x1b[2J\x1b[31m news\r\nFAKE LINE\u202e" + "x" * 1000
    get_logger("monitor.pipeline").info("article_stored", title=title, tags=["a\x07b"])
    [line] = json_lines(out)
    assert line["title"].startswith("Breaking news  FAKE LINE")
    assert len(line["title"]) == 300
    assert line["title"].endswith("…")
    assert "\x1b" not in line["title"]
    assert "\u202e" not in line["title"]
    assert line["tags"] == ["a b"]


def test_clean_untrusted() -> None:
    assert clean_untrusted("plain") == "plain"
    assert clean_untrusted("a\tb\nc\x00d") == "a b c d"
    assert clean_untrusted("\x1b]0;owned\x07title") == "title"
    assert clean_untrusted("Путин — Trump", limit=8) == "Путин —…"
    assert len(clean_untrusted("y" * 5000)) == 300
    assert clean_untrusted("e\u0301") == "e\u0301"  # combining marks are text, not control


def test_warnings_are_logged() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old thing", DeprecationWarning, stacklevel=1)
    [line] = json_lines(out)
    assert line["logger"] == "py.warnings"
    assert "old thing" in line["event"]


def test_json_on_stderr_of_a_real_process() -> None:
    script = textwrap.dedent("""\
        import logging
        from monitor.log import configure_logging, get_logger

        configure_logging()
        get_logger("monitor.pipeline", feed="tass-en").info(
            "feed_polled", status="ok", new=2, password="hunter2")
        logging.getLogger("apscheduler.scheduler").warning("Run time of job 'tick' was missed")
        print("stdout stays clean")
        """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout == "stdout stays clean\n"
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(li["logger"], li["event"]) for li in lines] == [
        ("monitor.pipeline", "feed_polled"),
        ("apscheduler.scheduler", "Run time of job 'tick' was missed"),
    ]
    assert lines[0]["feed"] == "tass-en"
    assert lines[0]["password"] == "***"
    assert "hunter2" not in done.stderr


def test_a_process_that_logs_nothing_loads_no_structlog_and_one_that_does_gets_its_lines() -> None:
    """structlog (and rich, asyncio) load with the first line or logger: a command that
    logs nothing does not pay for them, and a library's first line is still formatted."""
    script = textwrap.dedent("""\
        import logging, sys
        from monitor.log import configure_logging

        configure_logging(level="warning")
        logging.getLogger("sqlalchemy.engine").info("not shown at warning")
        print("structlog" in sys.modules)
        logging.getLogger("alembic").warning("Running upgrade url=postgresql://u:pw@h/db")
        print("structlog" in sys.modules)
        """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"]
    [line] = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["logger"] == "alembic"
    assert line["level"] == "warning"
    assert "pw" not in line["event"]


def _scrubbed_as_before(value: object, limit: int) -> object:
    """What a line's value became before plain strings were passed through untouched:
    every string redacted and cleaned."""
    from monitor.log import _redact_text

    if isinstance(value, str):
        return clean_untrusted(_redact_text(value), limit)
    return value


def test_every_string_value_is_redacted_and_cleaned_whatever_it_looks_like() -> None:
    import random

    from monitor.log import _scrub_event

    rng = random.Random(1507)
    pieces = [
        "feed-12", "not_modified", "2026-12-07T15:25:27.421586Z", " ", "a", "Z", "~", "%",
        "'", ">", "=", "/", ":", "@", "?", "&", "http://u:pw@h/p", "?token=abc", "&sig=1",
        "\x1b[31m", "\x07", "\n", "\t", "\x7f", "\x85", "\u202e", "\u2066", "é", "Путин",
        "x" * 290, "https://h.example/a?api_key=k&b=2", "postgres://mon:s3@db/x",
    ]  # fmt: skip
    for _ in range(4000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        event = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
        line = {"event": event, "feed": value, "status": value[:301], "new": 3, "error": None}
        want = {
            "event": _scrubbed_as_before(event, 1000),
            "feed": _scrubbed_as_before(value, 300),
            "status": _scrubbed_as_before(value[:301], 300),
            "new": 3,
            "error": None,
        }
        assert _scrub_event(None, "info", dict(line)) == want, line
    # a key naming a secret hides its value, a number included; an empty one stays
    line = {"event": "x", "token": 5, "api_key": "", "password": None, "n": 1}
    assert _scrub_event(None, "info", line) == {
        "event": "x", "token": "***", "api_key": "", "password": None, "n": 1,
    }  # fmt: skip
