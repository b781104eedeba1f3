"""Shared pieces of the channel tests: alerts, a scripted HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.types import Alert, Evidence


def make_alert(alert_id: str = "a1", **changes: object) -> Alert:
    values: dict[str, object] = {
        "id": alert_id,
        "topic": "trump-putin-summit",
        "topic_name": "Trump–Putin summit",
        "title": "Trump and Putin meet in Anchorage",
        "url": "https://example.org/news/1",
        "feed": "tass-en",
        "feeds": ("tass-en", "dw-en"),
        "published": datetime(2025, 8, 15, 18, 2, tzinfo=UTC),
        "detected_at": datetime(2025, 8, 15, 18, 3, 11, tzinfo=UTC),
        "evidence": (Evidence("Anchorage", "title", 27, "…meet in Anchorage…"),),
    }
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering each request with the next scripted reply."""

    port: int
    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    Request(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, headers = receiver.replies.pop(0) if receiver.replies else (200, {})
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port, not yet started (so a test can see refused connects)."""
    rec = Receiver(free_port())
    yield rec
    rec.stop()


@pytest.fixture
def alert_factory() -> Callable[..., Alert]:
    """``alert_factory("id", title=...)``: an Alert with sensible defaults."""
    return make_alert
