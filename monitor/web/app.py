"""The console as an ASGI application (Starlette): routes, the guard, errors.

Read-only: GET and HEAD only (405 otherwise). Every response carries a strict
Content-Security-Policy (no script at all, styles and images from this origin only)
and no-sniff/no-frame headers. With a ``token`` every page but ``/healthz`` and
``/metrics`` needs ``Authorization: Bearer TOKEN`` (compared in constant time). A bad
query parameter is a 400 with its message; a database failure a 503. Jinja2 escapes
every value (autoescape on for every template).

``/healthz`` and ``/metrics`` are served from the start; the pages
(:mod:`monitor.web.pages`: Jinja2, the views, the renderers) are built at their first
request, so the daemon does not hold them in memory until someone opens the console.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.metrics import CONTENT_TYPE, Metrics
from monitor.service.health import SERVER_NAME, HealthCheck, run_health_check

if TYPE_CHECKING:
    from monitor.web.views import Console

__all__ = ["CSP", "create_app"]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"server", SERVER_NAME.encode()),
]
_OPEN_PATHS = ("/healthz", "/metrics")


class Guard:
    """Methods, the bearer token, and the security headers on every response."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers.extend(_HEADERS)
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            response: Response = PlainTextResponse(
                "method not allowed: the console is read-only\n",
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
            await response(scope, receive, send_with_headers)
            return
        if self.token is not None and scope["path"] not in _OPEN_PATHS:
            given = b""
            for key, value in scope.get("headers", []):
                if key.lower() == b"authorization":
                    given = value
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(
                credential.strip(), self.token
            ):
                response = PlainTextResponse(
                    "authorization required: send Authorization: Bearer <http.token>\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="monitor"'},
                )
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


class _Pages:
    """The console's pages, built at their first request (see the module docstring)."""

    def __init__(self, console: Console | Callable[[], Console]) -> None:
        self._console = console
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            # One event loop calls this: no two requests build the pages at once.
            from monitor.web.pages import console_routes

            console = self._console if not callable(self._console) else self._console()
            self._app = Starlette(routes=console_routes(console))
        await self._app(scope, receive, send)


def create_app(
    console: Console | Callable[[], Console],
    *,
    token: str | None = None,
    check: HealthCheck | None = None,
    metrics: Metrics | None = None,
) -> ASGIApp:
    """The console; with ``check``/``metrics`` also ``/healthz`` and ``/metrics``.

    ``console`` may be a function that makes it, called at the first page request
    (so the caller need not import the views either).
    """

    def healthz(request: Request) -> Response:
        assert check is not None
        ok, details = run_health_check(check)
        payload = json.dumps(details, default=str, sort_keys=True).encode() + b"\n"
        return Response(payload, status_code=200 if ok else 503, media_type="application/json")

    def metrics_text(request: Request) -> Response:
        assert metrics is not None
        return Response(metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    routes: list[Route | Mount] = []
    if check is not None:
        routes.append(Route("/healthz", healthz))
    if metrics is not None:
        routes.append(Route("/metrics", metrics_text))
    routes.append(Mount("", app=_Pages(console)))
    app = Starlette(routes=routes)
    return Guard(app, token)
