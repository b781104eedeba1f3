"""Serving the console (and ``/healthz``, ``/metrics``) on uvicorn in a thread of its own.

:class:`WebServer` binds exactly the configured address (port 0 picks one, exposed as
``.port``), serves until ``stop()``, and never blocks its caller: uvicorn's event loop
holds slow clients and idle connections without a thread each, page queries run in its
thread pool, and past ``max_connections`` a client gets a 503 at once. A client that
has not sent a whole request head within ``header_timeout`` seconds of connecting (or of
starting its next request) is disconnected, so clients that trickle half a request
(slow-loris) cannot hold the connection slots and lock out ``/healthz``. No signal
handlers are installed (the daemon owns its signals). Building the pages is
:mod:`monitor.web.app`'s.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.errors import MonitorError
from monitor.service.health import parse_listen

__all__ = ["WebServer", "is_loopback"]

_MAX_CONNECTIONS = 64
_KEEP_ALIVE = 5
_START_TIMEOUT = 10.0
_HEADER_TIMEOUT = 10.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` (from ``http.listen``) is a loopback address or ``localhost``."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the daemon owns SIGTERM/SIGINT/SIGHUP
        return


class _HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is late.

    uvicorn times out idle keep-alive connections but not a request head that never
    completes; this arms a timer when a connection opens and when the first bytes of a
    next request arrive, and disarms it once the head is parsed (a request cycle began).
    """

    header_timeout: float = _HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head():
            self._arm_head_timer()
        super().data_received(data)
        if not self._awaiting_head():
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.transport.close()


class WebServer:
    """``start()`` binds and returns once serving; ``stop()`` closes and joins."""

    def __init__(
        self,
        listen: str,
        app: ASGIApp,
        *,
        max_connections: int = _MAX_CONNECTIONS,
        header_timeout: float = _HEADER_TIMEOUT,
    ) -> None:
        self.host, self._port = parse_listen(listen)
        self.app = app
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    def start(self) -> None:
        if self._server is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted sockets inherit it: without it every response (headers and body
            # written apart) waited ~40 ms for the client's delayed ACK (measured).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((self.host, self._port))
            sock.listen(128)
        except (OSError, UnicodeError, OverflowError) as exc:
            sock.close()
            raise MonitorError(
                f"cannot listen on {self.host}:{self._port} for the web console: {exc}"
            ) from exc
        self._socket = sock
        self._port = int(sock.getsockname()[1])
        protocol = type(
            "HeadDeadlineProtocol",
            (_HeadDeadlineProtocol,),
            {"header_timeout": self.header_timeout},
        )
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=True,
            proxy_headers=False,
            limit_concurrency=self.max_connections,
            timeout_keep_alive=_KEEP_ALIVE,
            lifespan="off",
            ws="none",
            http=protocol,
            loop="asyncio",
        )
        server = _Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="monitor-web",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop()
            raise MonitorError(f"the web console did not start on {self.host}:{self._port}")

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(timeout=_START_TIMEOUT)
        if sock is not None:
            sock.close()

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
