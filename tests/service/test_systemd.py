"""sd_notify over a real unix datagram socket, as systemd would receive it."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.service import systemd


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = tmp_path / "notify"
    sock.bind(str(address))
    sock.settimeout(2)
    yield sock, {"NOTIFY_SOCKET": str(address)}
    sock.close()


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, dict[str, str]]]:
    name = f"monitor-test-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2)
    yield sock, {"NOTIFY_SOCKET": "@" + name}
    sock.close()


def test_ready_reaches_a_path_socket(path_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = path_socket
    assert systemd.ready(environ=env) is True
    assert sock.recv(4096) == b"READY=1"


def test_messages_reach_an_abstract_socket(
    abstract_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = abstract_socket
    assert systemd.stopping(environ=env)
    assert systemd.watchdog(environ=env)
    assert sock.recv(4096) == b"STOPPING=1"
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_reloading_carries_the_monotonic_clock(
    path_socket: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = path_socket
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.reloading(environ=env)
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    fields = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= after


def test_status_is_one_line(path_socket: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = path_socket
    systemd.status("polling 12 feeds\nSECRET=1", environ=env)
    assert sock.recv(4096) == b"STATUS=polling 12 feeds SECRET=1"


def test_without_notify_socket_nothing_is_sent() -> None:
    assert systemd.ready(environ={}) is False
    assert systemd.notify("READY=1", environ={"NOTIFY_SOCKET": ""}) is False


def test_a_vanished_socket_is_not_an_error(tmp_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "gone")}
    assert systemd.watchdog(environ=env) is False


def test_uses_the_process_environment(
    path_socket: tuple[socket.socket, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, env = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", env["NOTIFY_SOCKET"])
    assert systemd.ready()
    assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert systemd.watchdog_interval(environ=env) == expected
