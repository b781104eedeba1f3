"""The console as an ASGI application (Starlette): routes, the guard, errors, templates.

Read-only: GET and HEAD only (405 otherwise). Every response carries a strict
Content-Security-Policy (no script at all, styles and images from this origin only)
and no-sniff/no-frame headers. With a ``token`` every page but ``/healthz`` and
``/metrics`` needs ``Authorization: Bearer TOKEN`` (compared in constant time). A bad
query parameter is a 400 with its message; a database failure a 503. Jinja2 escapes
every value (autoescape on for every template).

The pages' content comes from :mod:`monitor.web.views`; this module does not query.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.errors import StorageError
from monitor.metrics import CONTENT_TYPE, Metrics
from monitor.service.health import SERVER_NAME, HealthCheck, run_health_check
from monitor.types import format_time
from monitor.web.highlight import highlight_segments
from monitor.web.params import ParamError
from monitor.web.syndication import atom_feed, is_web_url, json_feed, story_path
from monitor.web.views import Console, PageNotFoundError

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
_STATIC = Path(__file__).parent / "static"


def _when(value: datetime | None) -> str:
    return format_time(value) or "–"


def _highlight(snippet: str, terms: Any) -> Markup:
    if isinstance(terms, str):
        terms = [terms]
    parts = [
        Markup("<mark>") + escape(text) + Markup("</mark>") if hit else escape(text)
        for text, hit in highlight_segments(snippet, terms)
    ]
    return Markup("").join(parts)


def _clip(text: str | None, limit: int = 300) -> str:
    value = " ".join((text or "").split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["highlight"] = _highlight
    env.filters["clip"] = _clip
    env.tests["web_url"] = is_web_url
    env.globals["story_path"] = story_path
    return env


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


def create_app(
    console: Console,
    *,
    token: str | None = None,
    check: HealthCheck | None = None,
    metrics: Metrics | None = None,
) -> ASGIApp:
    """The console; with ``check``/``metrics`` also ``/healthz`` and ``/metrics``."""
    env = _environment()

    def page(
        request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> Response:
        html = env.get_template(name).render(request_path=request.url.path, **context)
        return Response(html, status_code=status, media_type="text/html; charset=utf-8")

    def problem(request: Request, status: int, message: str) -> Response:
        return page(request, "error.html", {"status": status, "message": message}, status)

    def guarded(view: Any) -> Any:
        def endpoint(request: Request) -> Response:
            try:
                return view(request)  # type: ignore[no-any-return]
            except ParamError as exc:
                return problem(request, 400, str(exc))
            except PageNotFoundError:
                return problem(request, 404, "no such story or topic")
            except StorageError:
                return problem(request, 503, "the database does not answer; try again shortly")

        return endpoint

    def params(request: Request) -> dict[str, str]:
        # A repeated parameter is ambiguous: the last one counts, like most servers do.
        return dict(request.query_params.items())

    def now() -> datetime:
        return datetime.now(UTC)

    def stories(request: Request) -> Response:
        name, context = console.stories_page(params(request), now())
        return page(request, name, context)

    def story(request: Request) -> Response:
        name, context = console.story_page(request.path_params["alert_id"])
        return page(request, name, context)

    def topic(request: Request) -> Response:
        name, context = console.topic_page(request.path_params["topic"], params(request), now())
        return page(request, name, context)

    def feeds(request: Request) -> Response:
        name, context = console.feeds_page(params(request))
        return page(request, name, context)

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def atom(request: Request) -> Response:
        query, alerts = console.syndication(params(request), now())
        body = atom_feed(
            alerts, base=base_url(request), topic=query.topic, since=query.since, now=now()
        )
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def feed_json(request: Request) -> Response:
        query, alerts = console.syndication(params(request), now())
        body = json_feed(alerts, base=base_url(request), topic=query.topic, since=query.since)
        return Response(body, media_type="application/feed+json; charset=utf-8")

    def healthz(request: Request) -> Response:
        assert check is not None
        ok, details = run_health_check(check)
        payload = json.dumps(details, default=str, sort_keys=True).encode() + b"\n"
        return Response(payload, status_code=200 if ok else 503, media_type="application/json")

    def metrics_text(request: Request) -> Response:
        assert metrics is not None
        return Response(metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    routes: list[Route | Mount] = [
        Route("/", guarded(stories)),
        Route("/stories/{alert_id}", guarded(story)),
        Route("/topics/{topic}", guarded(topic)),
        Route("/feeds", guarded(feeds)),
        Route("/alerts.atom", guarded(atom)),
        Route("/alerts.json", guarded(feed_json)),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    if check is not None:
        routes.append(Route("/healthz", healthz))
    if metrics is not None:
        routes.append(Route("/metrics", metrics_text))
    app = Starlette(routes=routes)
    return Guard(app, token)
