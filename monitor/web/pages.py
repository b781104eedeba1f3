"""The console's pages: their routes, the Jinja2 templates and the filters they use.

Built by :func:`console_routes` when the console gets its first request, so a daemon
whose console no one opens never loads Jinja2, the page views or the renderers (see
:mod:`monitor.web.app`, which serves these beside ``/healthz`` and ``/metrics``). The
pages' content comes from :mod:`monitor.web.views`; this module does not query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.errors import StorageError
from monitor.types import format_time
from monitor.web.highlight import highlight_segments
from monitor.web.params import ParamError
from monitor.web.syndication import atom_feed, is_web_url, json_feed, story_path
from monitor.web.views import Console, PageNotFoundError

__all__ = ["console_routes"]

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


def console_routes(console: Console) -> list[Route | Mount]:
    """Every page of the console, its feeds and its static files."""
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

    return [
        Route("/", guarded(stories)),
        Route("/stories/{alert_id}", guarded(story)),
        Route("/topics/{topic}", guarded(topic)),
        Route("/feeds", guarded(feeds)),
        Route("/alerts.atom", guarded(atom)),
        Route("/alerts.json", guarded(feed_json)),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
