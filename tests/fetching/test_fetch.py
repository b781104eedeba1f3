"""The fetcher against real misbehaving servers on 127.0.0.1: bounds and body handling.

Redirects, statuses and the address guard are in test_fetch_status.py and
test_fetch_guard.py.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from monitor.fetching.client import Fetcher
from monitor.fetching.settings import FetchSettings
from monitor.types import FetchResult
from tests.support.hostile_server import (
    RSS,
    Handler,
    HostileServer,
    Request,
    drip,
    respond,
    wait_stopped,
)
from tests.support.ports import free_port

Serve = Callable[[Handler], HostileServer]
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAST = FetchSettings(
    allow_private_networks=True, connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0
)


def fetch(url: str, settings: FetchSettings = FAST) -> FetchResult:
    with Fetcher(settings) as fetcher:
        return fetcher.fetch(url, now=NOW)


def test_production_defaults_are_the_issue_bounds() -> None:
    settings = FetchSettings()
    assert (settings.connect_timeout, settings.read_timeout, settings.total_timeout) == (
        5.0,
        15.0,
        30.0,
    )
    assert settings.max_bytes == 10 * 1024 * 1024
    assert settings.max_redirects == 5
    assert settings.per_host == 2
    assert settings.allow_private_networks is False


def test_a_good_feed_is_fetched_with_a_clear_identity(hostile_servers: Serve) -> None:
    server = hostile_servers(
        lambda s, r, srv: respond(s, 200, RSS, {"Content-Type": "application/rss+xml"})
    )
    result = fetch(server.url())
    assert result.status == "ok" and result.http_status == 200
    assert result.content == RSS
    sent = server.requests[0].headers
    assert sent["user-agent"].startswith("monitor/")
    assert "application/rss+xml" in sent["accept"] and "application/atom+xml" in sent["accept"]
    assert {"gzip", "deflate", "br"} <= {c.strip() for c in sent["accept-encoding"].split(",")}
    assert "if-none-match" not in sent and "if-modified-since" not in sent


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("gzip", gzip.compress), ("br", brotli.compress), ("deflate", __import__("zlib").compress)],
)
def test_compressed_bodies_are_decoded(
    hostile_servers: Serve, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    server = hostile_servers(
        lambda s, r, srv: respond(s, 200, encode(RSS), {"Content-Encoding": coding})
    )
    result = fetch(server.url())
    assert result.status == "ok" and result.content == RSS


def test_a_server_that_never_answers_times_out(hostile_servers: Serve) -> None:
    server = hostile_servers(lambda s, r, srv: wait_stopped(srv))
    # The 1 s read-idle timeout cuts it off, long before the 30 s total deadline.
    settings = FetchSettings(allow_private_networks=True, read_timeout=1.0, total_timeout=30.0)
    started = time.monotonic()
    result = fetch(server.url(), settings)
    assert result.status == "error" and result.error_kind == "timeout"
    assert "deadline" not in (result.error or "")
    assert time.monotonic() - started < 15  # room for a loaded machine, far below 30 s


def test_a_server_dripping_a_byte_at_a_time_is_cut_at_the_total_deadline(
    hostile_servers: Serve,
) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        drip(sock, b"x" * 100000, 0.1, srv)  # never idle for the 1 s read timeout

    server = hostile_servers(handler)
    started = time.monotonic()
    result = fetch(server.url())
    elapsed = time.monotonic() - started
    assert result.status == "error" and result.error_kind == "timeout"
    assert "deadline" in (result.error or "")
    # Cut at the 2 s deadline: not earlier, and long before the drip ends (100,000 bytes at
    # 0.1 s: hours); the ceiling leaves room for a loaded machine.
    assert 1.9 <= elapsed < 60


def test_dripping_headers_are_cut_at_the_total_deadline_too(hostile_servers: Serve) -> None:
    server = hostile_servers(
        lambda s, r, srv: drip(s, b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 999, 0.1, srv)
    )
    started = time.monotonic()
    result = fetch(server.url())
    assert result.error_kind == "timeout"
    # The 2 s deadline; the drip would take ~13 minutes (a loaded machine gets slack).
    assert time.monotonic() - started < 60


def test_a_gzip_bomb_is_stopped_at_the_cap_without_expanding_in_memory(
    hostile_servers: Serve,
) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MiB → ~200 KiB
    server = hostile_servers(lambda s, r, srv: respond(s, 200, bomb, {"Content-Encoding": "gzip"}))
    settings = FetchSettings(allow_private_networks=True, max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        result = fetch(server.url(), settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "error" and result.error_kind == "too_large"
    assert result.content is None
    assert peak < 4 * 1024 * 1024  # the 1 MiB cap plus working buffers, not 200 MiB


def test_a_brotli_bomb_is_stopped_at_the_cap(hostile_servers: Serve) -> None:
    bomb = brotli.compress(b"\0" * (32 * 1024 * 1024), quality=5)
    server = hostile_servers(lambda s, r, srv: respond(s, 200, bomb, {"Content-Encoding": "br"}))
    result = fetch(server.url(), FetchSettings(allow_private_networks=True, max_bytes=1 << 20))
    assert result.error_kind == "too_large"


def test_a_huge_content_length_is_refused_before_reading(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000000\r\n\r\n")
        wait_stopped(srv)  # reading would wait for the 5 s read timeout

    server = hostile_servers(handler)
    settings = FetchSettings(allow_private_networks=True, read_timeout=30.0)
    started = time.monotonic()
    result = fetch(server.url(), settings)
    assert result.error_kind == "too_large"
    assert "Content-Length" in (result.error or "")
    assert time.monotonic() - started < 15  # refused on the header, not after the 30 s read


def test_an_endless_chunked_body_is_stopped_at_the_cap(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
        while not srv.stop.is_set():
            sock.sendall(chunk)

    server = hostile_servers(handler)
    result = fetch(server.url(), FetchSettings(allow_private_networks=True, max_bytes=1 << 20))
    assert result.error_kind == "too_large"


def test_a_chunked_body_without_its_last_chunk_is_truncated(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<rss \r\n")
        sock.shutdown(socket.SHUT_RDWR)  # no terminating 0-size chunk

    result = fetch(hostile_servers(handler).url())
    assert result.status == "error" and result.error_kind == "truncated"
    assert result.content is None


def test_a_body_shorter_than_its_content_length_is_truncated(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + RSS[:100])
        sock.shutdown(socket.SHUT_RDWR)

    result = fetch(hostile_servers(handler).url())
    assert result.error_kind == "truncated"


def test_a_corrupt_gzip_body_is_a_decoding_error(hostile_servers: Serve) -> None:
    server = hostile_servers(
        lambda s, r, srv: respond(s, 200, b"not gzip at all", {"Content-Encoding": "gzip"})
    )
    result = fetch(server.url())
    assert result.error_kind == "decoding"


def test_garbage_instead_of_http_is_a_protocol_error(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        sock.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        sock.shutdown(socket.SHUT_RDWR)

    result = fetch(hostile_servers(handler).url())
    assert result.status == "error" and result.error_kind == "protocol"


def test_nothing_listening_is_a_connect_error() -> None:
    port = free_port()  # nothing listens: connecting is refused at once
    result = fetch(f"http://127.0.0.1:{port}/feed")
    assert result.error_kind == "connect"


def test_at_most_per_host_requests_run_at_once(hostile_servers: Serve) -> None:
    def handler(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        time.sleep(0.2)
        respond(sock, 200, RSS)

    server = hostile_servers(handler)
    with Fetcher(FetchSettings(allow_private_networks=True, per_host=2)) as fetcher:
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(fetcher.fetch(server.url(), now=NOW)))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.status for r in results] == ["ok"] * 6
    assert server.max_concurrent == 2


def test_the_fetcher_is_a_client_of_its_own_not_the_environments_proxy(
    hostile_servers: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = hostile_servers(lambda s, r, srv: respond(s, 200, RSS))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")  # would fail if honoured
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9/")
    assert fetch(server.url()).status == "ok"
    assert isinstance(httpx.URL(server.url()), httpx.URL)


def test_https_to_a_server_that_cannot_speak_tls_is_a_tls_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_in_plain_http() -> None:
        client, _ = listener.accept()
        client.recv(4096)  # the TLS ClientHello
        client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        client.close()

    thread = threading.Thread(target=answer_in_plain_http, daemon=True)
    thread.start()
    try:
        result = fetch(f"https://127.0.0.1:{port}/feed")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert result.status == "error" and result.error_kind == "tls"


def test_a_name_that_does_not_resolve_is_a_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver is replaced: a real lookup would send a query off this machine.
    def no_such_name(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = fetch("http://feeds.example.invalid/rss")
    assert result.status == "error" and result.error_kind == "dns"
    assert "feeds.example.invalid" in (result.error or "")
