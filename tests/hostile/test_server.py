"""Hostile servers: headers out of range, answers we never asked for, a crash in one feed.

Each case polls real feeds on 127.0.0.1 beside a healthy one and asserts that the
pass finishes, the bad feed carries its own error, and the healthy feed is stored.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor import storage
from monitor.config.load import load_config
from monitor.fetching.client import Fetcher
from monitor.service.app import App, build_app
from monitor.types import FetchResult
from tests.support.feedgen import OTHER_EN, SUMMIT_EN, rss
from tests.support.hostile_server import RSS, HostileServer, Request, respond

pytestmark = pytest.mark.hostile


def _app(write_config: Callable[..., Path], feeds: list[dict[str, Any]]) -> App:
    app = build_app(load_config(write_config(feeds=feeds)))
    app.sync_feeds()
    return app


def _states(app: App) -> dict[str, Any]:
    return {s.spec.name: s for s in storage.list_feed_status(app.engine)}


@pytest.mark.parametrize(
    "headers",
    [
        {"Expires": "Fri, 31 Dec 9999 23:59:59 -0100"},
        {"Expires": "Fri, 31 Dec 9999 23:59:59 GMT", "Date": "Mon, 01 Jan 0001 00:00:00 +0100"},
        {"Cache-Control": "max-age=99999999999999999999999"},
        {"Expires": "Fri, 31 Dec 99999 23:59:59 GMT"},
    ],
    ids=["expires-9999-west", "date-year-1-east", "max-age-huge", "expires-5-digit-year"],
)
def test_date_headers_out_of_range_are_no_hint(
    hostile_servers: Callable[..., HostileServer],
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    headers: dict[str, str],
) -> None:
    def handler(sock: socket.socket, _request: Request, _server: HostileServer) -> None:
        respond(sock, 200, RSS, {"Content-Type": "application/rss+xml", **headers})

    bad = hostile_servers(handler)
    httpserver.expect_request("/ok.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    app = _app(
        write_config,
        [{"name": "bad", "url": bad.url()}, {"name": "ok", "url": httpserver.url_for("/ok.xml")}],
    )
    try:
        outcomes = {o.feed: o for o in app.poll()}
        states = _states(app)
    finally:
        app.close()
    assert outcomes["bad"].status == "ok" and outcomes["ok"].status == "ok"
    assert states["bad"].articles == 1
    # No hint taken from garbage: the next poll is the interval (10 m ± 10 %) away.
    assert (states["bad"].state.next_poll - states["bad"].state.last_poll).total_seconds() < 11 * 60


class _Crashing(Fetcher):
    """A fetcher with a bug for one URL: what any exception that is not ours looks like."""

    def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        if "boom" in url:
            raise OverflowError("date value out of range")
        return super().fetch(url, **kwargs)


def test_an_exception_in_one_feed_fails_that_feed_not_the_pass(
    httpserver: HTTPServer, write_config: Callable[..., Path], cli: Callable[..., Any]
) -> None:
    httpserver.expect_request("/ok.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/ok.xml")
    config = write_config(
        feeds=[{"name": "boom", "url": url + "?boom"}, {"name": "ok", "url": url}]
    )
    app = build_app(load_config(config))
    app.sync_feeds()
    app.pipeline = replace(app.pipeline, fetcher=_Crashing(app.pipeline.fetcher.settings))
    try:
        outcomes = {o.feed: o for o in app.poll()}
        states = _states(app)
    finally:
        app.close()

    assert outcomes["ok"].status == "ok" and outcomes["ok"].alerts
    assert outcomes["boom"].status == "error"
    assert states["boom"].state.errors == 1
    assert "internal_error: OverflowError" in (states["boom"].state.last_error or "")
    shown = cli("feeds", "-c", str(config))
    assert "internal_error" in shown.stdout


def test_304_without_our_validator_is_that_feeds_error(
    hostile_servers: Callable[..., HostileServer], write_config: Callable[..., Path]
) -> None:
    def handler(sock: socket.socket, _request: Request, _server: HostileServer) -> None:
        respond(sock, 304)

    server = hostile_servers(handler)
    app = _app(write_config, [{"name": "lazy", "url": server.url()}])
    try:
        first = app.poll()
        states = _states(app)
    finally:
        app.close()
    assert not server.requests[0].headers.get("if-none-match")
    assert [o.status for o in first] == ["error"]
    assert "304 Not Modified to a request without a validator" in (
        states["lazy"].state.last_error or ""
    )


def test_304_after_our_validator_is_still_not_modified(
    hostile_servers: Callable[..., HostileServer], write_config: Callable[..., Path]
) -> None:
    def handler(sock: socket.socket, request: Request, _server: HostileServer) -> None:
        if request.headers.get("if-none-match") == '"v1"':
            respond(sock, 304)
        else:
            respond(sock, 200, RSS, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    server = hostile_servers(handler)
    app = _app(write_config, [{"name": "good", "url": server.url()}])
    try:
        app.poll()
        second = app.poll()
    finally:
        app.close()
    assert [o.status for o in second] == ["not_modified"]


def test_a_hanging_host_does_not_hold_the_workers_of_other_hosts(
    hostile_servers: Callable[..., HostileServer],
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
) -> None:
    released = threading.Event()

    def hang(sock: socket.socket, _request: Request, _server: HostileServer) -> None:
        released.wait(25)  # accepts, says nothing, until the test lets it
        respond(sock, 200, RSS, {"Content-Type": "application/rss+xml"})

    hanging = hostile_servers(hang)
    healthy = threading.Event()

    def ok(_request: Any) -> Any:
        from werkzeug import Response

        healthy.set()
        return Response(rss([OTHER_EN]), content_type="application/rss+xml")

    httpserver.expect_request("/ok.xml").respond_with_handler(ok)
    # Two hosts: 127.0.0.1 (hanging, 30 feeds) and localhost (healthy, sorted last).
    feeds = [{"name": f"a{i:02}", "url": hanging.url(f"/f{i}")} for i in range(30)]
    feeds.append({"name": "zz", "url": httpserver.url_for("/ok.xml")})
    assert "localhost" in feeds[-1]["url"]
    app = build_app(load_config(write_config(feeds=feeds, workers=4)))
    app.sync_feeds()
    outcomes: list[Any] = []
    poller = threading.Thread(target=lambda: outcomes.extend(app.poll()))
    poller.start()
    try:
        first = healthy.wait(20)  # the hanging host holds its two slots all this time
    finally:
        released.set()
        poller.join(60)
        app.close()
    assert first, "the healthy host's feed waited behind the hanging host's"
    assert {o.feed: o.status for o in outcomes} == {f["name"]: "ok" for f in feeds}


BAD_ANSWERS = {
    "header-100k": b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 100_000 + b"\r\n\r\n",
    "garbage-status": b"HTTP/1.1 abc Whatever\r\nContent-Length: 0\r\n\r\n",
    "not-http": b"SSH-2.0-OpenSSH_9.2\r\n",
    "negative-length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n" + RSS,
    "truncated-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + RSS,
    "10k-headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 10_000 + b"\r\n",
}


@pytest.mark.parametrize("name", list(BAD_ANSWERS))
def test_broken_answers_are_that_feeds_error(
    hostile_servers: Callable[..., HostileServer],
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    name: str,
) -> None:
    def handler(sock: socket.socket, _request: Request, _server: HostileServer) -> None:
        sock.sendall(BAD_ANSWERS[name])
        sock.shutdown(socket.SHUT_WR)

    bad = hostile_servers(handler)
    httpserver.expect_request("/ok.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    app = _app(
        write_config,
        [{"name": "bad", "url": bad.url()}, {"name": "ok", "url": httpserver.url_for("/ok.xml")}],
    )
    try:
        outcomes = {o.feed: o for o in app.poll()}
        states = _states(app)
    finally:
        app.close()
    assert outcomes["bad"].status == "error", outcomes["bad"]
    assert states["bad"].state.last_error and states["bad"].state.errors == 1
    assert "internal_error" not in states["bad"].state.last_error  # translated, not a bug
    assert outcomes["ok"].status == "ok" and states["ok"].articles == 1
