"""`monitor mute`, `monitor unmute`, `monitor mutes`: silence a topic or a story for a while.

A mute names a configured topic id, or a story by the id of its alert (as `monitor
alerts --json` prints it; the first 8 or more characters do). It lives in the database,
so every worker honours it, and ends by itself. What a mute holds back is decided in
:mod:`monitor.storage.mutes`; this module only reads options and prints.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor import storage
from monitor.cli_common import (
    EXIT_USAGE,
    Command,
    common_options,
    echo,
    fail,
    open_engine,
    open_reader,
    read_outline,
)
from monitor.errors import StorageError
from monitor.types import format_time


def plain(text: str | None, limit: int = 300) -> str:
    """:func:`monitor.render.plain`, imported when printed (rich is not for --help)."""
    from monitor.render import plain as render_plain

    return render_plain(text, limit)


def _resolve(engine: object, config_topics: frozenset[str], target: str) -> tuple[str, str, str]:
    """(kind, stored target, label) of what the operator named; exit 2 if nothing."""
    if target in config_topics or target.startswith("monitor:"):
        return "topic", target, target
    story = storage.find_story(engine, target)  # type: ignore[arg-type]
    if story is None:
        click.echo(
            f"monitor: {target!r} is neither a configured topic nor the id of one stored "
            "alert (give at least 8 characters of it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return "story", story[0], story[1]


@click.command(cls=Command)
@common_options
@click.argument("target")
@click.option("--for", "duration", required=True, help="How long: 30m, 4h, 2d.")
@click.option("--reason", default="", help="Why (shown by `monitor mutes`).")
def mute(config_path: Path, target: str, duration: str, reason: str) -> None:
    """Hold a topic's (or one story's) messages on every channel for a while.

    Its alerts are still stored, written to the alert log and listed (marked muted)."""
    try:
        from monitor.config import parse_duration

        length = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    config = read_outline(config_path)
    engine = open_engine(config)
    now = datetime.now(UTC)
    try:
        kind, stored, label = _resolve(engine, config.topic_ids, target)
        until = now + length
        number = storage.add_mute(
            engine, kind, stored, label=label, reason=reason, now=now, until=until
        )
    except StorageError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    echo(f"muted {kind} {plain(label, 120)} until {format_time(until)} (#{number})")


@click.command(cls=Command)
@common_options
@click.argument("targets", nargs=-1, required=True)
def unmute(config_path: Path, targets: tuple[str, ...]) -> None:
    """End mutes early: by topic id, alert id (its story), or #N from `monitor mutes`."""
    config = read_outline(config_path)
    engine = open_engine(config)
    try:
        keys: list[str] = []
        for target in targets:
            keys.append(target)
            story = storage.find_story(engine, target) if not target.startswith("#") else None
            if story is not None:
                keys.append(story[0])
        ended = storage.end_mutes(engine, keys, datetime.now(UTC))
    except StorageError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if not ended:
        click.echo("monitor: no active mute matches " + ", ".join(targets), err=True)
        sys.exit(EXIT_USAGE)
    echo(f"unmuted {ended}")


@click.command(cls=Command)
@common_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def mutes(config_path: Path, as_json: bool) -> None:
    """The mutes in force, soonest to end first."""
    config = read_outline(config_path)
    reader = open_reader(config)
    now = datetime.now(UTC)
    try:
        found = storage.active_mutes(reader, now)
    except StorageError as exc:
        fail(str(exc))
    finally:
        reader.close()
    for m in found:
        if as_json:
            record = {
                "id": m.id,
                "kind": m.kind,
                "target": m.target,
                "label": m.label,
                "reason": m.reason,
                "since": format_time(m.created_at),
                "until": format_time(m.until),
            }
            echo(json.dumps(record, ensure_ascii=False))
            continue
        left = int((m.until - now).total_seconds() // 60)
        reason = f"  ({plain(m.reason, 200)})" if m.reason else ""
        echo(
            f"#{m.id}  {m.kind} {plain(m.label, 120)}  until {format_time(m.until)}"
            f"  ({left // 60}h{left % 60:02d}m left){reason}"
        )
    if not found and not as_json:
        echo("no mutes")
