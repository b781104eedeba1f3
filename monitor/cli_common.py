"""What every command shares: the common options, reading the configuration, opening
the database, exit codes and messages, `--since`. Imported by :mod:`monitor.cli` and the
command modules beside it (:mod:`monitor.cli_alerts`, :mod:`monitor.mute_commands`); it
imports none of them, and only what `monitor --help` can afford at module level.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from monitor import storage
from monitor.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.config.outline import Outline

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def common_options(func: F) -> F:
    """-c/--config, --log-format and --log-level, after every command's name."""

    @click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Configuration file [default: $MONITOR_CONFIG, else config/monitor.yaml].",
    )
    @click.option(
        "--log-format",
        type=click.Choice(["auto", "json", "console"]),
        default="auto",
        show_default=True,
        help="Log lines on stderr.",
    )
    @click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default="info",
        show_default=True,
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any, config_path: str | None, log_format: str, log_level: str, **kwargs: Any
    ) -> Any:
        from monitor.config import default_config_path
        from monitor.log import configure_logging

        configure_logging(fmt=log_format, level=log_level)
        path = Path(config_path) if config_path else default_config_path()
        return func(*args, config_path=path, **kwargs)

    return wrapper  # type: ignore[return-value]


def show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--help``'s callback: click's own, printing through :func:`echo` (a help page
    that cannot be written ends as any command's output does, not in a traceback)."""
    if value and not ctx.resilient_parsing:
        echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``'s callback: ``monitor, version X`` (as click's version option
    prints it), through :func:`echo`."""
    if value and not ctx.resilient_parsing:
        from importlib.metadata import version

        echo(f"monitor, version {version('monitor')}", color=ctx.color)
        ctx.exit()


class Command(click.Command):
    """A command whose ``--help`` prints as its output does (:func:`show_help`)."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.callback = show_help
        return option


class Group(Command, click.Group):
    """A group of :class:`Command` s (and of groups like itself)."""

    command_class = Command
    group_class = type


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"monitor: {message}", err=True)
    sys.exit(code)


def output_failed(exc: OSError) -> NoReturn:
    """End a command whose stdout refused what it printed (a full disk, a closed or
    revoked descriptor, a reader gone): one line on stderr and exit 1, never a
    traceback. A reader that closed its pipe (``monitor match … | head -1``) got what
    it wanted: then nothing is said, as other Unix tools say nothing (exit 1, as click
    ends any other command on a broken pipe)."""
    _discard_stdout()
    if exc.errno == errno.EPIPE:
        sys.exit(EXIT_FAILURE)
    fail(f"cannot write output: {exc.strerror or exc}")


def echo(text: str, color: bool | None = None) -> None:
    """A line on stdout (``click.echo``), whose failure ends the command as
    :func:`output_failed` says, in every command alike."""
    if sys.stdout is None:
        stdout_closed()
    try:
        click.echo(text, color=color)
    except OSError as exc:
        output_failed(exc)


def write_stdout(text: str) -> None:
    """``text`` on stdout as it is (no newline added), whose failure ends the command as
    :func:`output_failed` says: for output written in pieces (`monitor match`)."""
    try:
        sys.stdout.write(text)
    except OSError as exc:
        output_failed(exc)


def flush_stdout() -> None:
    """Write out what stdout still holds (a rich table, a line printed without a
    flush) while a failure can still be told as :func:`output_failed` tells it: at
    the exit, it would be Python's "Exception ignored" lines and status 120."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except OSError as exc:
        output_failed(exc)


def stdout_closed() -> NoReturn:
    """End a command that has output to print and no stdout (started with ``>&-``):
    its lines would be lost without a word (click prints nothing then)."""
    fail("cannot write output: stdout is closed")


def stdout_is_tty() -> bool:
    """Whether stdout is a terminal (tables, colours); not when it is closed."""
    return sys.stdout is not None and sys.stdout.isatty()


def _discard_stdout() -> None:
    """What stdout still holds goes nowhere: the exit's last flush of it would fail
    again and print Python's "Exception ignored" lines (and end with status 120)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file (a test's capture): nothing at the exit to fail
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def read_config(
    path: Path, *, delivers: bool = True, warn: bool = False, channels: bool | None = None
) -> Config:
    """The configuration, or every problem on stderr and exit 2.

    ``delivers=False`` for commands that send nothing: a delivery secret missing from
    their environment leaves its channel out instead of refusing, and the channels are
    not built (unless ``channels``: `monitor check` builds them to check them). ``warn``
    prints what works but is likely a mistake (`monitor check`).
    """
    try:
        with collector_paused():
            from monitor.config import load_config_checked

            config, warnings = load_config_checked(path, delivers=delivers, channels=channels)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_USAGE)
    if warn:
        for warning in warnings:
            click.echo(str(warning), err=True)
    return config


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside (on again after, if it was on):
    for a command's start-up, which makes many lasting objects (modules, pydantic's
    models, the configuration) and next to no garbage, so that collections there only
    walk what stays (~8 % of reading the configuration)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def read_outline(path: Path) -> Outline:
    """The database, feed names and topic ids of the configuration (all a command that
    lists stored alerts or mutes needs: :mod:`monitor.config.outline`), or the problems
    on stderr and exit 2."""
    from monitor.config.outline import load_outline

    try:
        return load_outline(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_USAGE)


def open_engine(config: Config | Outline) -> Any:
    try:
        return storage.open_database(config.database)
    except StorageError as exc:
        fail(str(exc))


def open_reader(config: Config | Outline) -> Any:
    """The database for a command that only reads: without SQLAlchemy when it can be
    (a current SQLite file); a :class:`~monitor.storage.Reader`, closed by the caller."""
    try:
        return storage.open_reader(config.database)
    except StorageError as exc:
        fail(str(exc))


def utf8_stdout() -> None:
    """JSON is UTF-8 (RFC 8259) whatever the locale says, as in the alert log: a
    latin-1 or ASCII locale must neither mangle nor refuse Cyrillic titles."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", errors="strict")


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``2h`` (ago) or an ISO 8601 time (``2026-01-22T00:00Z``); a usage error otherwise."""
    if value is None:
        return None
    from monitor.config import parse_duration

    duration = re.fullmatch(r"\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*", value) is not None
    try:
        if duration:
            return now - parse_duration(value)
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        # 0s, 99999999d, 2026-13-01 …: the operator's typo, never a traceback.
        reason = (
            "a duration must be more than zero and reach back no further than year 1"
            if duration
            else "write a duration (2h, 3d) or an ISO 8601 time (2026-01-22T00:00Z)"
        )
        raise click.BadParameter(f"{value!r}: {reason}", param_hint="--since") from None
