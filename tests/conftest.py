"""Shared fixtures: a real HTTP server for feeds, configuration files, the CLI."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

pytest_plugins = ["tests.support.postgres_server", "tests.support.scheduling"]

# The code this run's processes compile (this one's and every command's it starts, through
# monitor.source_code_cache) is kept in a directory of the run's own, removed at its end
# (after this process writes its own: exit functions run last-registered first), not in
# the developer's ~/.cache. Set before anything imports `monitor`.
_CODE_CACHE = tempfile.mkdtemp(prefix="monitor-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CODE_CACHE
atexit.register(shutil.rmtree, _CODE_CACHE, True)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def user_environment(**extra: str) -> dict[str, str]:
    """This repository importable; stdout and stderr block-buffered on a pipe or a file,
    as a user's are (PYTHONUNBUFFERED, set on some machines, would hide a buffer left
    unflushed and write every line at once)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra}
    env.pop("PYTHONUNBUFFERED", None)
    return env


def shared_path(*parts: str) -> Path:
    """A path in ../shared/, or skip the test when the folder is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data lives beside the checkout)")
    return path


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The database the tests' configuration uses: a SQLite file (modules may override)."""
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def write_config(tmp_path: Path, database_url: str) -> Callable[..., Path]:
    """Write a monitor.yaml into tmp_path; paths default to files inside tmp_path."""

    def write(
        feeds: list[dict[str, Any]] | None = None,
        topics: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Path:
        return write_config_file(tmp_path, feeds, topics, **{"database": database_url, **extra})

    return write


def write_config_file(
    folder: Path,
    feeds: list[dict[str, Any]] | None = None,
    topics: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Path:
    """What ``write_config`` writes, into ``folder`` (for fixtures wider than a test)."""
    doc: dict[str, Any] = {
        "database": f"sqlite:///{folder / 'monitor.db'}",
        "alert_log": str(folder / "alerts.jsonl"),
        "http": {"allow_private_networks": True, "listen": False},
        "feeds": feeds or [],
        "topics": topics if topics is not None else default_topics(),
    }
    doc.update(extra)
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def default_topics() -> list[dict[str, Any]]:
    """The topics shipped in config/monitor.yaml."""
    doc = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text("utf-8"))
    topics: list[dict[str, Any]] = doc["topics"]
    return topics


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run a `monitor` command in-process (fast); returns click's Result."""
    return run_cli


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run a `monitor` command in-process (what the ``cli`` fixture gives)."""
    from monitor.cli import main

    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def run_monitor(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `python -m monitor` as a real subprocess."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **kwargs.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **kwargs,
    )


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Write a configuration given as (indented) YAML text to tmp_path/monitor.yaml."""

    def _write(text: str) -> Path:
        path = tmp_path / "monitor.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    """The FILE:LINE problems loading ``path`` reports (it must fail)."""
    from monitor.config.load import load_config
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return [str(p) for p in info.value.problems]


def read_alert_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture
def alert_log(tmp_path: Path) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    yield lambda: read_alert_log(tmp_path / "alerts.jsonl")


@pytest.fixture
def daemons() -> Iterator[Callable[[Path], Any]]:
    from tests.support.daemon_support import Daemon

    started: list[Daemon] = []

    def start(config: Path) -> Daemon:
        daemon = Daemon(config)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Any]]:
    """``receivers(**options)``: a webhook receiver on 127.0.0.1
    (:class:`tests.support.receivers.WebhookReceiver`), not started (its port refuses
    connections until ``start()``); every one a test made is stopped after it."""
    from tests.support.receivers import WebhookReceiver

    made: list[WebhookReceiver] = []

    def make(**options: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(**options)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def hook(receivers: Callable[..., Any]) -> Any:
    """A webhook receiver on 127.0.0.1, started, answering every request 200."""
    return receivers().start()


@pytest.fixture
def hostile_servers() -> Iterator[Callable[[Any], Any]]:
    """Start ``HostileServer(handler)`` on 127.0.0.1 (tests/support/hostile_server.py); every
    server a test started is closed after it."""
    from tests.support.hostile_server import HostileServer

    servers: list[HostileServer] = []

    def start(handler: Any) -> HostileServer:
        server = HostileServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
