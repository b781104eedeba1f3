"""Test servers for many-worker runs: a farm of generated feeds and a TCP proxy that
can cut the database off (all on 127.0.0.1; the webhook receiver is tests/support/receivers.py).

Used by ``tests/service/test_workers.py`` and ``tests/benchmarks/bench_scale.py``. The feed
farm serves ``/feed/<n>`` with ETags (a poll of an unchanged feed is a 304) and logs
every request (feed, time, User-Agent), so a test can tell which worker fetched
what, when. It does not run `monitor`; the tests do.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

KEEP_ITEMS = 20


def item_title(feed: int, serial: int, matching: bool = True) -> str:
    """A headline the default topics match (trump-putin-summit), distinct enough per
    item that the near-duplicate check never folds two items into one story; or,
    with ``matching=False``, one no topic matches."""
    digest = hashlib.sha256(f"{feed}-{serial}".encode()).hexdigest()
    words = f"{digest[:9]} {digest[9:18]} {digest[18:27]}"
    if matching:
        return f"Trump and Putin meet in Anchorage: {words}"
    return f"Local council approves the budget: {words}"


def item_link(feed: int, serial: int) -> str:
    return f"https://news.example.org/f{feed}/item-{serial}"


@dataclass
class Fetch:
    feed: int
    at: float
    """time.monotonic() when the request arrived."""
    agent: str
    status: int


@dataclass
class FeedFarm:
    """``count`` feeds of ``initial`` items; ``grow(feeds)`` adds one item to each
    listed feed. Every ``matching_every``-th item (by serial) matches a topic."""

    count: int
    initial: int = 1
    matching_every: int = 1
    fetches: list[Fetch] = field(default_factory=list)
    items: dict[int, list[tuple[int, datetime]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _cache: dict[int, tuple[int, bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n in range(self.count):
            self.items[n] = []
            for _ in range(self.initial):
                self.add_item(n)

    # --- content ------------------------------------------------------------
    def add_item(self, feed: int) -> None:
        with self._lock:
            serial = len(self.items[feed])
            self.items[feed].append((serial, datetime.now(UTC) - timedelta(seconds=1)))

    def grow(self, feeds: list[int]) -> None:
        for n in feeds:
            self.add_item(n)

    def generated(self, *, matching_only: bool = False) -> set[str]:
        """Links of every item ever put into a feed (or only of those that match)."""
        with self._lock:
            return {
                item_link(n, s)
                for n, items in self.items.items()
                for s, _ in items
                if not matching_only or s % self.matching_every == 0
            }

    def document(self, feed: int) -> tuple[bytes, str]:
        with self._lock:
            items = list(self.items[feed][-KEEP_ITEMS:])
            cached = self._cache.get(feed)
        etag = f'"{feed}-{len(items) and items[-1][0]}"'
        if cached is not None and cached[0] == len(items) and cached[2] == etag:
            return cached[1], etag
        body = self._render(feed, items)
        with self._lock:
            self._cache[feed] = (len(items), body, etag)
        return body, etag

    def _render(self, feed: int, items: list[tuple[int, datetime]]) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>Farm feed {feed}</title>",
            "<link>https://news.example.org/</link>",
            "<description>generated</description>",
            "<language>en</language>",
        ]
        for serial, published in reversed(items):
            title = item_title(feed, serial, serial % self.matching_every == 0)
            parts += [
                "<item>",
                f"<title>{escape(title)}</title>",
                f"<link>{escape(item_link(feed, serial))}</link>",
                f"<guid>{escape(item_link(feed, serial))}</guid>",
                "<description>The two presidents met at a base in Alaska.</description>",
                f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>",
                "</item>",
            ]
        parts.append("</channel></rss>")
        return "\n".join(parts).encode()

    # --- server -------------------------------------------------------------
    def url(self, feed: int) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/feed/{feed}"

    def start(self) -> FeedFarm:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                at = time.monotonic()
                try:
                    feed = int(self.path.rsplit("/", 1)[-1])
                    body, etag = farm.document(feed)
                except (ValueError, KeyError):
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                status = 304 if self.headers.get("if-none-match") == etag else 200
                with farm._lock:
                    farm.fetches.append(Fetch(feed, at, self.headers.get("user-agent", ""), status))
                self.send_response(status)
                self.send_header("etag", etag)
                if status == 200:
                    self.send_header("content-type", "application/rss+xml")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        self._server = server
        threading.Thread(target=server.serve_forever, name="feed-farm", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def by_feed(self) -> dict[int, list[Fetch]]:
        with self._lock:
            fetches = list(self.fetches)
        grouped: dict[int, list[Fetch]] = defaultdict(list)
        for f in fetches:
            grouped[f.feed].append(f)
        return grouped


class TcpProxy:
    """127.0.0.1:port → upstream; ``cut()`` drops every connection and refuses new
    ones (the network to the database is gone), ``restore()`` lets them through."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
