"""Kept-alive connections: a host's next fetch reuses its connection when the last
exchange ended cleanly, and never one a server closed or a fetch cut short."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpcore
import pytest

from monitor.fetching import netguard
from monitor.fetching.client import Fetcher
from monitor.fetching.connections import Connections
from monitor.fetching.settings import FetchSettings
from tests.support.hostile_server import (
    RSS,
    HostileServer,
    Request,
    drip,
    respond,
    wait_stopped,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAST = FetchSettings(
    allow_private_networks=True, connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0
)
Serve = Callable[[Any], HostileServer]
ETAG = '"v1"'


def conditional(sock: socket.socket, request: Request, srv: HostileServer) -> None:
    if request.headers.get("if-none-match") == ETAG:
        respond(sock, 304, b"", {"ETag": ETAG})
    else:
        respond(sock, 200, RSS, {"ETag": ETAG})


def test_polls_of_an_unchanged_feed_share_one_connection(hostile_servers: Serve) -> None:
    server = hostile_servers(conditional)
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(server.url(), now=NOW)
        again = [fetcher.fetch(server.url(), etag=first.etag, now=NOW) for _ in range(3)]
    assert first.status == "ok" and first.content == RSS
    assert [r.status for r in again] == ["not_modified"] * 3
    assert server.connections == 1 and len(server.requests) == 4


def test_feeds_of_one_host_share_its_connection(hostile_servers: Serve) -> None:
    server = hostile_servers(lambda s, r, srv: respond(s, 200, RSS))
    with Fetcher(FAST) as fetcher:
        results = [fetcher.fetch(server.url(f"/feed/{i}"), now=NOW) for i in range(4)]
    assert [r.content for r in results] == [RSS] * 4
    assert server.connections == 1


def test_a_connection_the_server_closed_is_not_reused(hostile_servers: Serve) -> None:
    def answer_and_hang_up(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        respond(sock, 200, RSS)
        sock.shutdown(socket.SHUT_RDWR)  # no "Connection: close": the client must notice

    server = hostile_servers(answer_and_hang_up)
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(server.url(), now=NOW)
        time.sleep(0.2)  # the hang-up reaches the client before its next poll
        second = fetcher.fetch(server.url(), now=NOW)
    assert (first.status, second.status) == ("ok", "ok")
    assert second.content == RSS
    assert server.connections == 2


def test_a_connection_whose_body_was_left_unread_is_not_reused(hostile_servers: Serve) -> None:
    big = b"x" * 5000

    def large_then_small(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        respond(sock, 200, big if request.path == "/big" else RSS)

    server = hostile_servers(large_then_small)
    with Fetcher(replace(FAST, max_bytes=1000)) as fetcher:
        refused = fetcher.fetch(server.url("/big"), now=NOW)
        after = fetcher.fetch(server.url("/small"), now=NOW)
    assert refused.error_kind == "too_large"
    # The rest of the big body was never read: its connection is not fit for a request.
    assert after.status == "ok" and after.content == RSS
    assert server.connections == 2


def test_a_body_sent_on_a_304_does_not_fail_the_next_poll(hostile_servers: Serve) -> None:
    """A 304 has no body; bytes a server sends after it anyway would be read as the start
    of the next response on the connection, failing that poll as invalid HTTP."""

    def not_modified_with_a_body(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        if request.headers.get("if-none-match") == ETAG:
            sock.sendall(
                f"HTTP/1.1 304 X\r\nContent-Length: 5\r\nETag: {ETAG}\r\n\r\nhello".encode()
            )
        else:
            respond(sock, 200, RSS, {"ETag": ETAG})

    server = hostile_servers(not_modified_with_a_body)
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(server.url(), now=NOW)
        again = [fetcher.fetch(server.url(), etag=first.etag, now=NOW) for _ in range(3)]
    assert first.status == "ok"
    assert [(r.status, r.error) for r in again] == [("not_modified", None)] * 3


def test_a_server_that_asks_to_close_gets_a_new_connection_each_time(
    hostile_servers: Serve,
) -> None:
    def close_each(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        respond(sock, 200, RSS, {"Connection": "close"})

    server = hostile_servers(close_each)
    with Fetcher(FAST) as fetcher:
        results = [fetcher.fetch(server.url(), now=NOW) for _ in range(3)]
    assert [r.status for r in results] == ["ok"] * 3
    assert server.connections == 3


def _get(pool: Connections, server: HostileServer) -> bytes:
    request = httpcore.Request(
        b"GET", server.url().encode(), headers=[(b"Host", f"127.0.0.1:{server.port}".encode())]
    )
    response = pool.send(request, wait=1.0)
    try:
        return b"".join(response.iter_stream())
    finally:
        response.close()


def _pool(max_connections: int, keepalive: float = 5.0) -> Connections:
    return Connections(
        make_ssl_context=ssl.create_default_context,
        network_backend=netguard.GuardedBackend(allow_private=True, exceptions=()),
        max_connections=max_connections,
        keepalive_expiry=keepalive,
    )


def test_at_most_max_connections_idle_connections_are_kept_the_oldest_closed_first(
    hostile_servers: Serve,
) -> None:
    servers = [hostile_servers(lambda s, r, srv: respond(s, 200, RSS)) for _ in range(3)]
    pool = _pool(2)
    try:
        for server in servers:
            assert _get(pool, server) == RSS
        assert pool.idle_count() == 2
        # The last two hosts kept theirs; the first, closed to make room, needs a new one.
        _get(pool, servers[2])
        _get(pool, servers[0])
        assert [s.connections for s in servers] == [2, 1, 1]
    finally:
        pool.close()
    assert pool.idle_count() == 0


def test_no_more_than_max_connections_exchanges_at_once(hostile_servers: Serve) -> None:
    server = hostile_servers(lambda s, r, srv: respond(s, 200, RSS))
    pool = _pool(1)
    request = httpcore.Request(
        b"GET", server.url().encode(), headers=[(b"Host", f"127.0.0.1:{server.port}".encode())]
    )
    held = pool.send(request, wait=1.0)
    try:
        with pytest.raises(httpcore.PoolTimeout):
            pool.send(request, wait=0.1)
    finally:
        held.close()
    assert _get(pool, server) == RSS  # the slot is free again once the response is closed
    pool.close()


def test_connections_idle_past_their_keep_alive_are_closed_not_kept(
    hostile_servers: Serve,
) -> None:
    first, second = (hostile_servers(lambda s, r, srv: respond(s, 200, RSS)) for _ in range(2))
    pool = _pool(8, keepalive=0.2)
    try:
        _get(pool, first)
        time.sleep(0.3)
        _get(pool, second)  # the first's connection, idle too long, is closed meanwhile
        assert pool.idle_count() == 1
        _get(pool, first)
        assert first.connections == 2 and second.connections == 1
    finally:
        pool.close()


def test_an_accept_given_for_one_fetch_replaces_the_default_not_joins_it() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    heads: list[bytes] = []

    def answer_once() -> None:
        client, _ = listener.accept()
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            heads.append(head)
            respond(client, 200, b"<html></html>")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        with Fetcher(FAST) as fetcher:
            result = fetcher.fetch(f"http://127.0.0.1:{port}/page", accept="text/html", now=NOW)
    finally:
        thread.join(timeout=5)
        listener.close()
    assert result.status == "ok"
    lines = [line.lower() for line in heads[0].split(b"\r\n")]
    assert [line for line in lines if line.startswith(b"accept:")] == [b"accept: text/html"]
    assert sum(line.startswith(b"host:") for line in lines) == 1


def _our_sockets_to(port: int) -> list[str]:
    """The TCP states (as /proc/net/tcp names them) of this host's sockets connected to
    ``port`` on 127.0.0.1: the client ends of the test server's connections."""
    states = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:  # noqa: SIM115
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port:
            states.append(
                {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT"}.get(
                    fields[3], fields[3]
                )
            )
    return states


def test_a_connection_the_server_closed_between_polls_does_not_sit_in_close_wait(
    hostile_servers: Serve,
) -> None:
    def answer_then_time_out(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        respond(sock, 200, RSS)
        time.sleep(0.2)  # the server's keep-alive time is shorter than a tick
        sock.shutdown(socket.SHUT_RDWR)

    server = hostile_servers(answer_then_time_out)
    with Fetcher(FAST) as fetcher:
        assert fetcher.fetch(server.url(), now=NOW).status == "ok"
        deadline = time.monotonic() + 30
        while "CLOSE_WAIT" not in _our_sockets_to(server.port):
            assert time.monotonic() < deadline, _our_sockets_to(server.port)
            time.sleep(0.05)
        # what the daemon does between ticks
        assert fetcher.sweep() == 1
        assert "CLOSE_WAIT" not in _our_sockets_to(server.port)
        assert fetcher.fetch(server.url(), now=NOW).status == "ok"
    assert server.connections == 2


def test_a_connection_still_open_is_kept_by_the_sweep(hostile_servers: Serve) -> None:
    server = hostile_servers(lambda s, r, srv: respond(s, 200, RSS))
    with Fetcher(FAST) as fetcher:
        fetcher.fetch(server.url(), now=NOW)
        assert fetcher.sweep() == 0
        fetcher.fetch(server.url(), now=NOW)
    assert server.connections == 1


def test_a_redirect_with_a_short_body_keeps_its_connection(hostile_servers: Serve) -> None:
    def moved(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        if request.path == "/old":
            respond(sock, 301, b"<html><body>Moved</body></html>" * 12, {"Location": "/feed"})
        else:
            respond(sock, 200, RSS)

    server = hostile_servers(moved)
    with Fetcher(FAST) as fetcher:
        result = fetcher.fetch(server.url("/old"), now=NOW)
    assert result.status == "ok" and result.content == RSS
    assert result.permanent_redirect == server.url("/feed")
    assert server.connections == 1  # the redirect's body read: its connection reused


def test_a_redirect_with_a_long_body_is_not_read(hostile_servers: Serve) -> None:
    def moved_with_a_book(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        if request.path == "/old":
            head = "HTTP/1.1 302 X\r\nLocation: /feed\r\nContent-Length: 50000000\r\n\r\n"
            sock.sendall(head.encode() + b"x" * 1000)
            wait_stopped(srv)
        else:
            respond(sock, 200, RSS)

    server = hostile_servers(moved_with_a_book)
    with Fetcher(FAST) as fetcher:
        result = fetcher.fetch(server.url("/old"), now=NOW)
    assert result.status == "ok" and result.content == RSS
    assert server.connections == 2


@pytest.mark.parametrize(
    "path",
    [
        ("_connection", "_h11_state_renamed"),  # an httpcore that renamed its attribute
        ("_connection", "_state"),  # one that holds something else there
    ],
)
def test_an_httpcore_whose_connection_state_cannot_be_read_closes_instead_of_reusing(
    hostile_servers: Serve, monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...]
) -> None:
    from monitor.fetching import connections

    monkeypatch.setattr(connections, "_H11_STATE", path)
    server = hostile_servers(conditional)
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(server.url(), now=NOW)
        again = [fetcher.fetch(server.url(), etag=first.etag, now=NOW) for _ in range(2)]
    assert first.status == "ok"
    assert [r.status for r in again] == ["not_modified"] * 2
    # unchecked, no connection is reused (one that was could fail the next poll)
    assert server.connections == 3


def test_a_redirect_whose_body_trickles_is_followed_all_the_same(hostile_servers: Serve) -> None:
    # A redirect's body is read to keep its connection only while it comes at once: one
    # that trickles (a byte at a time, within the read timeout), with a length or
    # delimited by the connection's close, is left and the redirect followed, as before
    # its body was read (it took the whole deadline, and the fetch failed).
    def moved_and_trickling(sock: socket.socket, request: Request, srv: HostileServer) -> None:
        if request.path == "/feed":
            respond(sock, 200, RSS)
            return
        length = "Content-Length: 100\r\n" if request.path == "/sized" else ""
        sock.sendall(f"HTTP/1.1 301 X\r\nLocation: /feed\r\n{length}\r\n".encode())
        drip(sock, b"x" * 100, 0.3, srv)

    server = hostile_servers(moved_and_trickling)
    patient = replace(FAST, read_timeout=3.0, total_timeout=6.0)
    with Fetcher(patient) as fetcher:
        results = [fetcher.fetch(server.url(p), now=NOW) for p in ("/sized", "/unsized")]
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert [r.content for r in results] == [RSS, RSS]
