"""The console shows the signals the alerts carry: a hot feed's reason on the Feeds page
as `monitor feeds` gives it, and a story's outlets (not its feeds) with the alert's first
reporter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from monitor.service.app import App
from tests.signals.conftest import SUMMIT, Newsroom
from tests.signals.test_surge_hot import STORIES


@pytest.fixture
def console() -> Iterator[Callable[[App], str]]:
    from monitor.web import Console, WebServer, create_app

    servers: list[WebServer] = []

    def serve(app: App) -> str:
        server = WebServer(
            "127.0.0.1:0", create_app(Console(engine=app.engine, topics=app.config.topics))
        )
        servers.append(server.__enter__())
        return server.url

    yield serve
    for server in servers:
        server.__exit__(None, None, None)


def _row(html: str, feed: str) -> str:
    start = html.index(f'<td class="outlet">{feed}</td>')
    return html[start : html.index("</tr>", start)]


def test_feeds_page_says_why_as_monitor_feeds_does_hot_included(
    newsroom: Newsroom, signals_app: Any, cli: Any, console: Callable[[App], str]
) -> None:
    topic = SUMMIT | {"hot": {"interval": "1m", "for": "10m"}}
    app = signals_app(["reuters", "dw"], topic, interval="1h")
    newsroom.carry("reuters", STORIES[0], "r1")
    app.poll(due_only=True)
    table = cli("feeds", "-c", str(newsroom.config)).stdout
    why = re.search(r"hot: summit until \d\d:\d\d", table)
    assert why is not None, table
    html = httpx.get(console(app) + "/feeds", timeout=10).text
    assert why.group(0) in _row(html, "reuters")
    assert "interval" in _row(html, "dw") and "hot" not in _row(html, "dw")
