"""Hostile receivers: a webhook that drips its answer a byte at a time.

The channel's timeout bounds the whole request (connect, send, the answer), so a
receiver that keeps the connection alive with a byte now and then fails the attempt
with a recorded error, and `monitor deliver` says so, instead of holding the channel.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.alerts.webhook import WebhookChannel
from monitor.errors import DeliveryError
from monitor.types import Alert
from tests.support.feedgen import SUMMIT_EN, rss
from tests.support.hostile_server import HostileServer, Request, drip

pytestmark = pytest.mark.hostile

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def _dripping(
    hostile_servers: Callable[..., HostileServer],
) -> tuple[HostileServer, threading.Event]:
    finished = threading.Event()

    def handler(sock: socket.socket, _request: Request, server: HostileServer) -> None:
        drip(sock, ANSWER, 0.25, server)  # 38 bytes: about 10 s
        finished.set()

    return hostile_servers(handler), finished


def test_a_dripping_receiver_fails_the_attempt_within_the_timeout(
    hostile_servers: Callable[..., HostileServer],
) -> None:
    server, finished = _dripping(hostile_servers)
    channel = WebhookChannel("hook", server.url("/hook"), timeout=timedelta(seconds=1))
    alert = Alert(
        id="a1",
        topic="t",
        title="x",
        url=None,
        feed="f",
        published=None,
        detected_at=datetime(2026, 12, 1, tzinfo=UTC),
        evidence=(),
    )
    try:
        with pytest.raises(DeliveryError) as caught:
            channel.send(alert, delivery_id="d1")
        assert not finished.is_set()  # the answer was still dripping: the timeout cut it
        assert "timed out after 1s" in str(caught.value)
    finally:
        channel.close()


def test_monitor_deliver_reports_the_dripping_channel(
    hostile_servers: Callable[..., HostileServer],
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Any],
) -> None:
    server, finished = _dripping(hostile_servers)
    httpserver.expect_request("/f.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[{"name": "f", "url": httpserver.url_for("/f.xml")}],
        notify=[{"webhook": server.url("/hook"), "name": "drip", "timeout": "1s"}],
    )
    cli("poll", "-c", str(config))
    result = cli("deliver", "-c", str(config))
    assert result.exit_code == 1
    assert "drip" in result.output and "timed out" in result.output
    assert not finished.is_set()
