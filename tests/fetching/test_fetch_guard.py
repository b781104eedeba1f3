"""The address guard: refused before connecting, on the first hop and on every redirect.

Classification is tested on literal addresses without connecting anywhere; the only
connections made are to 127.0.0.1, and the refusal tests prove that none was made.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.fetching.client import Fetcher
from monitor.fetching.netguard import refusal_reason
from monitor.fetching.settings import FetchSettings
from tests.support.hostile_server import RSS, HostileServer, Request, respond

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
GUARDED = FetchSettings(allow_private_networks=False, read_timeout=2.0, total_timeout=5.0)


@pytest.fixture
def feed_server() -> Iterator[HostileServer]:
    server = HostileServer(lambda s, r, srv: respond(s, 200, RSS))
    yield server
    server.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250",
        "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
        "2001:db8::1", "100::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "::127.0.0.1", "2002:7f00:1::1", "2002:a9fe:a9fe::1",
        "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::a9fe:a9fe",
    ],
)  # fmt: skip
def test_non_public_addresses_and_their_disguises_are_refused(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "64:ff9b::808:808", "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_embedded_ipv4_is_judged_by_the_address_inside() -> None:
    reason = refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert reason is not None and "loopback" in reason


def test_loopback_is_refused_before_any_connection(feed_server: HostileServer) -> None:
    with Fetcher(GUARDED) as fetcher:
        result = fetcher.fetch(feed_server.url(), now=NOW)
    assert result.status == "error" and result.error_kind == "refused_address"
    assert "127.0.0.1" in (result.error or "")
    assert feed_server.connections == 0 and feed_server.requests == []


def test_a_name_resolving_to_loopback_is_refused_after_resolution(
    feed_server: HostileServer,
) -> None:
    with Fetcher(GUARDED) as fetcher:
        result = fetcher.fetch(f"http://localhost:{feed_server.port}/feed", now=NOW)
    assert result.error_kind == "refused_address"
    assert feed_server.connections == 0


def test_a_redirect_to_a_refused_address_is_stopped_before_connecting(
    feed_server: HostileServer,
) -> None:
    # The first server is let through by name; its redirect points at the second one
    # through the IPv4-mapped form of the same loopback address, which the guard must
    # see through. Were it not refused, the connection would land on 127.0.0.1.
    def redirect(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        target = f"http://[::ffff:127.0.0.1]:{feed_server.port}/feed"
        respond(sock, 302, b"", {"Location": target})

    entry = HostileServer(redirect)
    try:
        with Fetcher(GUARDED, allow_addresses=["127.0.0.1"]) as fetcher:
            result = fetcher.fetch(entry.url("/start"), now=NOW)
    finally:
        entry.close()
    assert entry.connections == 1
    assert result.status == "error" and result.error_kind == "refused_address"
    assert "loopback" in (result.error or "")
    assert feed_server.connections == 0


def test_allow_private_networks_lets_tests_use_loopback(feed_server: HostileServer) -> None:
    with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:
        result = fetcher.fetch(feed_server.url(), now=NOW)
    assert result.status == "ok" and result.content == RSS


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed.xml",
        "gopher://127.0.0.1/",
        "javascript:alert(1)",
        "/relative/feed.xml",
        "http://",
        "not a url",
    ],
)
def test_only_http_and_https_urls_are_fetched(url: str, feed_server: HostileServer) -> None:
    with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:
        result = fetcher.fetch(url, now=NOW)
    assert result.status == "error" and result.error_kind == "bad_url"
    assert feed_server.connections == 0


def test_credentials_in_urls_are_refused(feed_server: HostileServer) -> None:
    url = f"http://user:secret@127.0.0.1:{feed_server.port}/feed"
    with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:
        result = fetcher.fetch(url, now=NOW)
    assert result.error_kind == "bad_url" and "credentials" in (result.error or "")
    assert feed_server.connections == 0
