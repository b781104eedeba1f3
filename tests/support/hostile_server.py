"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on purpose, for fetch tests.

Each test gives a handler ``(sock, request, server) -> None`` that writes whatever
bytes it likes (or nothing) to the accepted socket. The server records every accepted
connection and every request head it read, so a test can prove that a guarded fetch
never connected at all. Only ever binds 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[socket.socket, Request, "HostileServer"], None]


@dataclass
class HostileServer:
    handler: Handler
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    concurrent: int = 0
    max_concurrent: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/feed") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        buffer = b""
        try:
            while True:  # keep-alive: one request after another on this connection
                while b"\r\n\r\n" not in buffer:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                request = Request(method, path, headers)
                with self._lock:
                    self.requests.append(request)
                    self.concurrent += 1
                    self.max_concurrent = max(self.max_concurrent, self.concurrent)
                try:
                    self.handler(client, request, self)
                finally:
                    with self._lock:
                        self.concurrent -= 1
                if self.stop.is_set():
                    return
        except OSError:
            return
        finally:
            client.close()

    def close(self) -> None:
        self.stop.set()
        self._sock.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=2)


def respond(
    sock: socket.socket,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    reason: str = "X",
) -> None:
    """Write a complete HTTP/1.1 response with a Content-Length."""
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def wait_stopped(server: HostileServer, seconds: float = 30.0) -> None:
    """Hold the connection open, silent, until the test ends (or ``seconds`` pass)."""
    server.stop.wait(seconds)


def drip(sock: socket.socket, data: bytes, every: float, server: HostileServer) -> None:
    """Send ``data`` one byte at a time, ``every`` seconds apart, until stopped."""
    for i in range(len(data)):
        if server.stop.is_set():
            return
        sock.sendall(data[i : i + 1])
        time.sleep(every)


RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>https://example.org/1</link><guid>1</guid></item>"
    b"</channel></rss>"
)
