"""Every command that prints, and its stdout: what an operator sees when the output
cannot be written (a full disk, a closed descriptor, a reader that went away). As
`monitor match` (tests/test_cli_match.py): one line on stderr and exit 1, quietly 1 for
a reader gone, never a traceback, Python's "Exception ignored" lines or status 120."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli, user_environment
from tests.support.daemon_support import LiveFeed
from tests.support.feedgen import PEACE_EN, SUMMIT_EN, Item

FULL = "monitor: cannot write output: No space left on device\n"
CLOSED = "monitor: cannot write output: stdout is closed\n"

# commands that print on stdout whatever the database holds (--log-level error: the
# feed's failed poll and the schema's migration say nothing on stderr)
COMMANDS = [["check"], ["db", "upgrade"], ["feeds"], ["feeds", "--json"], ["mutes"], ["poll"]]
COMMANDS += [["replay"]]
IDS = ["check", "db-upgrade", "feeds", "feeds-json", "mutes", "poll", "replay"]


def run(
    command: list[str], *, stdout: int, cwd: Path, wrap: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(wrap or []), sys.executable, *command],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def into_full(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "wb") as full:
        return run(command, stdout=full.fileno(), cwd=cwd)


def into_closed_pipe(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # `… | head -c 1` whose reader has what it wanted and is gone before the output
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return run(command, stdout=write_end, cwd=cwd)
    finally:
        os.close(write_end)


def with_stdout_closed(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    closed = ["sh", "-c", 'exec "$@" >&-', "sh"]  # `monitor … >&-`
    return run(command, stdout=subprocess.DEVNULL, cwd=cwd, wrap=closed)


@pytest.fixture
def monitor(tmp_path, write_config):
    """`python -m monitor ARGS -c CONFIG --log-level error` over one feed nobody serves."""
    config = write_config(feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])

    def command(args: list[str]) -> list[str]:
        return ["-m", "monitor", *args, "-c", str(config), "--log-level", "error"]

    return command


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_command_onto_a_full_disk_says_so_in_one_line(tmp_path, monitor, args):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    result = into_full(monitor(args), tmp_path)
    assert (result.returncode, result.stderr) == (1, FULL)


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_command_with_stdout_closed_says_so_in_one_line(tmp_path, monitor, args):
    result = with_stdout_closed(monitor(args), tmp_path)
    assert (result.returncode, result.stderr) == (1, CLOSED)


@pytest.mark.parametrize("args", COMMANDS, ids=IDS)
def test_a_command_into_a_pipe_its_reader_closed_ends_quietly_and_not_with_0(
    tmp_path, monitor, args
):
    result = into_closed_pipe(monitor(args), tmp_path)
    assert (result.returncode, result.stderr) == (1, "")


def test_a_command_with_stdout_closed_and_nothing_to_print_succeeds(tmp_path, monitor):
    # no alerts stored: nothing lost, nothing to say (it looked at stdout's terminal)
    result = with_stdout_closed(monitor(["alerts"]), tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


# A command printing without a flush (as rich's tables do on a terminal): its output is
# still in stdout's buffer when it returns, and the entry point's last flush fails.
_UNFLUSHED = """
import sys
import click
from monitor.cli import main, run_main
from monitor.teardown import mark_finished

@main.command()
def unflushed():
    sys.stdout.write("a line still in the buffer\\n")
    mark_finished()

sys.argv = ["monitor", "unflushed"]
run_main()
"""


def test_output_left_in_the_buffer_that_cannot_be_written_is_told_in_one_line(tmp_path):
    command = ["-c", _UNFLUSHED]
    if os.path.exists("/dev/full"):
        full = into_full(command, tmp_path)
        assert (full.returncode, full.stderr) == (1, FULL)
    gone = into_closed_pipe(command, tmp_path)
    assert (gone.returncode, gone.stderr) == (1, "")
    done = run(command, stdout=subprocess.PIPE, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "a line still in the buffer\n", "")


# click's own output, printed while the arguments are read, before any command runs
HELP = [["--help"], ["-h"], ["--version"], ["check", "--help"], ["db", "--help"]]
HELP += [["alerts", "show", "--help"], ["mute", "-h"], ["match", "--help"]]
HELP_IDS = ["help", "h", "version", "check-help", "db-help", "alerts-show-help"]
HELP_IDS += ["mute-h", "match-help"]


@pytest.mark.parametrize("args", HELP, ids=HELP_IDS)
def test_help_and_version_that_cannot_be_written_are_told_as_any_output(tmp_path, args):
    command = ["-m", "monitor", *args]
    if os.path.exists("/dev/full"):
        full = into_full(command, tmp_path)
        assert (full.returncode, full.stderr) == (1, FULL)
    closed = with_stdout_closed(command, tmp_path)
    assert (closed.returncode, closed.stderr) == (1, CLOSED)
    gone = into_closed_pipe(command, tmp_path)
    assert (gone.returncode, gone.stderr) == (1, "")


def test_help_and_version_still_print_and_succeed(tmp_path):
    from importlib.metadata import version

    shown = run(["-m", "monitor", "--version"], stdout=subprocess.PIPE, cwd=tmp_path)
    assert (shown.returncode, shown.stdout, shown.stderr) == (
        0,
        f"monitor, version {version('monitor')}\n",
        "",
    )
    helped = run(["-m", "monitor", "alerts", "--help"], stdout=subprocess.PIPE, cwd=tmp_path)
    assert (helped.returncode, helped.stderr) == (0, "")
    assert helped.stdout.startswith("Usage: python -m monitor alerts [OPTIONS]")
    assert "  -h, --help " in helped.stdout


def test_every_command_prints_its_help_as_its_output():
    # a command added with plain `click.command()` would print --help through click's
    # own echo again (the cases above try some of them in a process)
    from monitor.cli import main
    from monitor.cli_common import Command

    def tree(command):
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from tree(sub)

    plain = [c.name for c in tree(main) if not isinstance(c, Command)]
    assert plain == []


# commands that print what the database holds: alerts stored by a poll (and a mute)
def _alert_id(config: Path) -> str:
    listed = run_cli("alerts", "-c", str(config), "--json").stdout.splitlines()
    return str(json.loads(listed[0])["id"])


def _muted(config: Path) -> list[str]:
    run_cli("mute", "-c", str(config), "peace-council", "--for", "1h")
    return ["unmute", "peace-council"]


STORED: dict[str, Callable[[Path], list[str]]] = {
    "alerts": lambda config: ["alerts"],
    "alerts-json": lambda config: ["alerts", "--json"],
    "alerts-follow-since": lambda config: ["alerts", "--follow", "--since", "1d"],
    "alerts-show": lambda config: ["alerts", "show", _alert_id(config)],
    "deliver": lambda config: ["deliver"],
    "mute": lambda config: ["mute", "trump-putin-summit", "--for", "1h"],
    "unmute": _muted,
}


@pytest.fixture
def feed(httpserver):
    live = LiveFeed(httpserver, "/live.xml")
    live.items = [SUMMIT_EN, PEACE_EN]
    return live


@pytest.fixture
def stored(write_config, feed):
    """A configuration whose database holds the alerts of one poll; its commands as
    `python -m monitor ARGS -c CONFIG --log-level error`."""
    config = write_config(feeds=[{"name": "live", "url": feed.url}])
    assert run_cli("poll", "-c", str(config)).exit_code == 0

    def command(name: str) -> list[str]:
        args = STORED[name](config)
        return ["-m", "monitor", *args, "-c", str(config), "--log-level", "error"]

    command.config = config  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("name", list(STORED))
def test_what_the_database_holds_that_cannot_be_written_is_told_in_one_line(tmp_path, stored, name):
    if os.path.exists("/dev/full"):
        full = into_full(stored(name), tmp_path)
        assert (full.returncode, full.stderr) == (1, FULL)
    closed = with_stdout_closed(stored(name), tmp_path)
    assert (closed.returncode, closed.stderr) == (1, CLOSED)
    gone = into_closed_pipe(stored(name), tmp_path)
    assert (gone.returncode, gone.stderr) == (1, "")


FOLLOWING = "following new alerts (Ctrl-C stops)\n"
NEW_PEACE = [
    Item(f"{country} joins Trump's Board of Peace", f"https://news.example.org/world/{country}")
    for country in ("Kazakhstan", "Mongolia")
]


def follow_then_poll(config: Path, feed: LiveFeed, stdout: int, cwd: Path) -> tuple[int, str]:
    """`monitor alerts --follow` printing into ``stdout`` an alert a poll commits after
    it started (the feed's next new item): (its exit status, its stderr)."""
    command = [sys.executable, "-m", "monitor", "alerts", "--follow", "-c", str(config)]
    command += ["--log-level", "error"]
    proc = subprocess.Popen(
        command, stdout=stdout, stderr=subprocess.PIPE, text=True, env=user_environment(), cwd=cwd
    )
    try:
        assert proc.stderr is not None
        said = proc.stderr.readline()
        if said == FOLLOWING:
            feed.items = [*feed.items, NEW_PEACE[len(feed.items) - 2]]
            assert run_cli("poll", "-c", str(config)).exit_code == 0
        status = proc.wait(timeout=60)  # a generous ceiling, not a latency promise
        return status, said + proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_following_alerts_that_cannot_be_written_ends_in_one_line(tmp_path, stored, feed):
    config = stored.config
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            assert follow_then_poll(config, feed, full.fileno(), tmp_path) == (1, FOLLOWING + FULL)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        assert follow_then_poll(config, feed, write_end, tmp_path) == (1, FOLLOWING)
    finally:
        os.close(write_end)


def test_following_alerts_with_stdout_closed_says_so_before_it_waits(tmp_path, stored):
    # nothing to print yet, and never anything it could print: said at once
    args = ["-m", "monitor", "alerts", "--follow", "-c", str(stored.config)]
    closed = with_stdout_closed(args, tmp_path)
    assert (closed.returncode, closed.stderr) == (1, CLOSED)
