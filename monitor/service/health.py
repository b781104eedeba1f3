"""``/healthz`` and ``/metrics`` of `monitor run`, on a small HTTP server of its own.

:class:`HealthServer` listens on ``http.listen`` (exactly that address; port 0 picks a
free one, exposed as ``.port``) in daemon threads, so it never blocks the daemon:
``GET /healthz`` answers 200 or 503 with a JSON body (a ``reason`` when unhealthy)
from a ``check`` callable the daemon supplies; ``GET /metrics`` answers the Prometheus
text of a :class:`~monitor.metrics.Metrics`; anything else is 404 (405 for other
methods). Slow or idle clients time out, and concurrent connections are capped.

:func:`tick_health` is the pure rule the daemon's ``check`` uses: healthy while the last
tick finished within three tick intervals and the database answers. This module does
not query the database or read the clock itself.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from monitor.errors import MonitorError
from monitor.metrics import CONTENT_TYPE, Metrics

__all__ = [
    "SERVER_NAME",
    "HealthCheck",
    "HealthServer",
    "parse_listen",
    "run_health_check",
    "tick_health",
]

HealthCheck = Callable[[], tuple[bool, dict[str, object]]]
"""Returns (healthy, details); details go into the JSON body."""

STALE_TICKS = 3
_MAX_CONNECTIONS = 32
_REQUEST_TIMEOUT = 5.0


def _package_version() -> str:
    try:
        return version("monitor")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


_VERSION = _package_version()
SERVER_NAME = f"monitor/{_VERSION}"


def tick_health(
    last_tick_finished: datetime | None,
    tick_interval: timedelta,
    now: datetime,
    db_ok: bool,
    *,
    started_at: datetime | None = None,
    slack: timedelta = timedelta(0),
) -> tuple[bool, dict[str, object]]:
    """Healthy when the last tick finished within 3 intervals and the database answers.

    ``slack`` is how long one tick may legitimately run besides: a tick waits for its
    slowest feed, which may take the fetch and parse deadlines. Without it, a daemon
    with a short tick and one hanging server would be reported dead (and restarted by
    a container runtime) while it works as designed. Before the first tick finishes,
    ``started_at`` (when given) grants the same grace, so a daemon that just started
    is not reported dead.
    """
    limit = tick_interval * STALE_TICKS + slack
    reasons: list[str] = []
    details: dict[str, object] = {
        "database": "ok" if db_ok else "unreachable",
        "tick_interval_seconds": tick_interval.total_seconds(),
        "tick_limit_seconds": limit.total_seconds(),
        "last_tick": last_tick_finished.isoformat() if last_tick_finished else None,
        "last_tick_age_seconds": None,
    }
    if not db_ok:
        reasons.append("database unreachable")
    if last_tick_finished is not None:
        age = now - last_tick_finished
        details["last_tick_age_seconds"] = round(age.total_seconds(), 3)
        if age > limit:
            reasons.append(
                f"last tick finished {age.total_seconds():.0f}s ago "
                f"(limit {limit.total_seconds():.0f}s)"
            )
    elif started_at is None or now - started_at > limit:
        reasons.append("no tick has finished yet")
    if reasons:
        details["reason"] = "; ".join(reasons)
    details["status"] = "unhealthy" if reasons else "ok"
    return not reasons, details


def run_health_check(check: HealthCheck) -> tuple[bool, dict[str, object]]:
    """``check()``, with a failure of the check itself reported as unhealthy (the
    endpoint must answer even when the check is broken); the body always has a
    ``status``, and a ``reason`` when unhealthy. Shared with the web console's server."""
    try:
        ok, details = check()
    except Exception as exc:
        return False, {
            "status": "unhealthy",
            "reason": f"health check failed: {type(exc).__name__}",
        }
    result = dict(details)
    result.setdefault("status", "ok" if ok else "unhealthy")
    if not ok:
        result.setdefault("reason", "unhealthy")
    return ok, result


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` → (host, port); ValueError otherwise."""
    host, sep, port_text = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"listen must be HOST:PORT, not {listen!r}")
    return host, int(port_text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A restart must not wait for TIME_WAIT sockets of the previous process.
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, app: HealthServer
    ) -> None:
        self.address_family = family
        self.app = app
        self.slots = threading.BoundedSemaphore(app.max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # A flood of connections must not turn into a flood of threads.
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = f"monitor/{_VERSION}"

    def version_string(self) -> str:
        # The default appends " Python/3.x" (or a bare space when sys_version is empty).
        return self.server_version

    def setup(self) -> None:
        # The socket timeout: a client that trickles its request (or never reads the
        # answer) is dropped after it instead of holding its thread for ever.
        self.request.settimeout(self.server.app.request_timeout)
        super().setup()

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        app = self.server.app
        if path == "/healthz":
            ok, details = app.run_check()
            status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
            payload = json.dumps(details, default=str, sort_keys=True).encode() + b"\n"
            self._send(status, "application/json", payload, body=body)
        elif path == "/metrics":
            self._send(HTTPStatus.OK, CONTENT_TYPE, app.metrics.render(), body=body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n", body=body)

    def _send(self, status: HTTPStatus, ctype: str, payload: bytes, *, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Scrapes every few seconds would drown the daemon's log; stderr is its JSON log.
        return


class HealthServer:
    """The daemon's HTTP endpoint; ``start()`` returns at once, ``stop()`` joins."""

    def __init__(
        self,
        listen: str,
        check: HealthCheck,
        metrics: Metrics,
        *,
        request_timeout: float = _REQUEST_TIMEOUT,
        max_connections: int = _MAX_CONNECTIONS,
    ) -> None:
        self.host, self._port = parse_listen(listen)
        self.check = check
        self.metrics = metrics
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured with port 0, once started)."""
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    def start(self) -> None:
        """Bind exactly the configured address and serve in a daemon thread."""
        if self._server is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            server = _Server((self.host, self._port), family, self)
        except (OSError, UnicodeError) as exc:
            raise MonitorError(
                f"cannot listen on {self.host}:{self._port} for /healthz and /metrics: {exc}"
            ) from exc
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="monitor-health",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def run_check(self) -> tuple[bool, dict[str, object]]:
        """The daemon's check, with a failure of the check itself reported as unhealthy."""
        return run_health_check(self.check)

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
