"""`monitor alerts`: stored alerts newest last, `--follow` as they are raised (by any
process), and `monitor alerts show ID` for one in full. Registered by :mod:`monitor.cli`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor import storage
from monitor.cli_common import (
    Group,
    common_options,
    echo,
    fail,
    flush_stdout,
    open_engine,
    open_reader,
    parse_since,
    read_config,
    read_outline,
    stdout_closed,
    stdout_is_tty,
    utf8_stdout,
)
from monitor.errors import StorageError

FOLLOW_LOOKBACK_US = 10 * 60 * 1_000_000
FOLLOW_POLL_S = 0.5


@click.group(cls=Group, invoke_without_command=True)
@common_options
@click.option("--topic", default=None, help="Only this topic id.")
@click.option("--feed", default=None, help="Only stories this feed carried.")
@click.option("--since", default=None, help="2h, 3d, or 2026-01-22T00:00Z.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="The newest N.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new alerts as they arrive.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def alerts(
    config_path: Path,
    topic: str | None,
    feed: str | None,
    since: str | None,
    limit: int | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Stored alerts, newest last (`monitor alerts show ID`: one in full)."""
    from monitor.render import alert_json, alert_line, print_alerts_table

    if click.get_current_context().invoked_subcommand is not None:
        return
    if follow and sys.stdout is None:
        stdout_closed()  # it would wait for alerts it could never print
    if as_json:
        utf8_stdout()
    config = read_outline(config_path)
    since_at = parse_since(since, datetime.now(UTC))
    # Not an error (alerts of a topic or feed since removed are still stored), but a
    # typo should not pass for "no alerts".
    if (
        topic is not None
        and not topic.startswith("monitor:")  # operator alerts
        and topic not in config.topic_ids
    ):
        click.echo(f"note: {config_path} has no topic {topic!r}", err=True)
    if feed is not None and feed not in config.feed_names:
        click.echo(f"note: {config_path} has no feed {feed!r}", err=True)
    engine = open_reader(config)
    try:
        rows = storage.list_alerts(engine, topic=topic, feed=feed, since=since_at, limit=limit)
        muted = storage.muted_alerts(engine, [a.id for _, a in rows])
        # --follow alone is `tail -f`: it starts at the end; --since/--limit ask for history.
        history = not follow or since is not None or limit is not None
        table = not as_json and not follow and stdout_is_tty()
        if table:
            print_alerts_table([a for _, a in rows], sys.stdout, muted=muted)
        for _, alert in [] if table or not history else rows:
            mark = alert.id in muted
            echo(alert_json(alert, muted=mark) if as_json else alert_line(alert, muted=mark))
        if follow:
            flush_stdout()
            click.echo("following new alerts (Ctrl-C stops)", err=True)
            _follow(engine, rows, topic, feed, since_at, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()


def _follow(
    engine: Any,
    rows: list[tuple[int, Any]],
    topic: str | None,
    feed: str | None,
    since: datetime | None,
    as_json: bool,
) -> None:
    last = max((seq for seq, _ in rows), default=0)
    # An alert's seq is the time its feed's poll started, and a poll may take minutes
    # (fetch and parse timeouts; its feed lease lasts 5): one committed now can be
    # older than one printed already. Look back further than any poll can last, and
    # remember what was there at the start (--limit may have left it unprinted).
    printed: dict[str, int] = {a.id: seq for seq, a in rows}
    printed.update(
        (a.id, seq)
        for seq, a in storage.list_alerts(
            engine, topic=topic, feed=feed, since=since, after_seq=max(0, last - FOLLOW_LOOKBACK_US)
        )
    )
    with _stop_on_signals() as stop:
        while not stop.wait(FOLLOW_POLL_S):
            printed, last = _print_new(engine, printed, last, topic, feed, since, as_json)


def _print_new(
    engine: Any,
    printed: dict[str, int],
    last: int,
    topic: str | None,
    feed: str | None,
    since: datetime | None,
    as_json: bool,
) -> tuple[dict[str, int], int]:
    """One look for alerts not printed yet; what is printed now, and the newest seq."""
    from monitor.render import alert_json, alert_line

    try:
        fresh = storage.list_alerts(
            engine,
            topic=topic,
            feed=feed,
            since=since,
            after_seq=max(0, last - FOLLOW_LOOKBACK_US),
        )
    except StorageError:
        return printed, last
    for seq, alert in fresh:
        if alert.id in printed:
            continue
        printed[alert.id] = seq
        last = max(last, seq)
        echo(alert_json(alert) if as_json else alert_line(alert))
    flush_stdout()
    if len(printed) > 10_000:  # forget what the look-back can no longer return
        printed = {k: v for k, v in printed.items() if v > last - FOLLOW_LOOKBACK_US}
    return printed, last


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, whatever the parent left them as: a shell
    starting ``monitor alerts --follow &`` ignores SIGINT for it, and Python then
    raises no KeyboardInterrupt, so Ctrl-C and ``kill`` would not stop it."""
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    except ValueError:  # not the main thread (an embedding caller): no handlers of ours
        pass
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@alerts.command("show")
@common_options
@click.argument("alert_id")
def alerts_show(config_path: Path, alert_id: str) -> None:
    """One alert in full: evidence, the rule that fired, outlets, delivery per channel."""
    from monitor.alert_detail import format_alert_detail
    from monitor.storage.console import load_story

    config = read_config(config_path, delivers=False)
    engine = open_engine(config)
    try:
        detail = load_story(engine, alert_id.strip()) if len(alert_id) <= 64 else None
    except StorageError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if detail is None:
        fail(f"no alert {alert_id[:64]!r} (the ids are in `monitor alerts --json`)")
        return
    from monitor.alerts.naming import channel_labels

    channels = channel_labels(config.notify)
    for line in format_alert_detail(detail, config.topics, channels, color=stdout_is_tty()):
        echo(line)
