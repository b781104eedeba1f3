"""The console shows the signals the alerts carry: a hot feed's reason on the Feeds page
as `monitor feeds` gives it, and a story's outlets (not its feeds) with the alert's first
reporter."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from monitor.service.app import App
from monitor.types import format_time
from tests.signals.conftest import SUMMIT, Newsroom, step
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


def test_stories_page_names_outlets_once_as_the_alert_does(
    newsroom: Newsroom, signals_app: Any, cli: Any, console: Callable[[App], str]
) -> None:
    """Two feeds of one outlet (TASS) are one outlet on the page, named as in the
    alert's ``outlets`` and ``first_reported_by``."""
    app = signals_app(["tass-en", "tass-world", "reuters"], SUMMIT)
    newsroom.carry("tass-en", STORIES[0], "t1")
    app.poll(names=["tass-en"])
    step(newsroom, minutes=3)
    newsroom.carry("tass-world", STORIES[0], "t1")
    newsroom.carry("reuters", STORIES[0], "r1")
    app.poll()
    (line,) = cli("alerts", "-c", str(newsroom.config), "--json").stdout.splitlines()
    alert = json.loads(line)
    assert [o["outlet"] for o in alert["outlets"]] == ["TASS", "Reuters"]
    html = httpx.get(console(app) + "/", timeout=10).text
    names = re.findall(r'<span class="outlet"[^>]*>([^<]*)</span>', html)
    assert names == ["TASS", "Reuters"], names
    assert re.search(r'class="first">\s*<span class="outlet"[^>]*>TASS', html)
    story = httpx.get(console(app) + f"/stories/{alert['id']}", timeout=10).text
    assert re.findall(r'<li[^>]*>\s*<span class="outlet"[^>]*>([^<]*)</span>', story) == [
        "TASS",
        "Reuters",
    ]


def test_the_alert_and_the_console_name_the_same_first_reporter_by_when_each_carried_it(
    newsroom: Newsroom, signals_app: Any, cli: Any, console: Callable[[App], str]
) -> None:
    """SPEC.md: the first reporter is the outlet that carried the story first. Reuters
    publishes it at 12:05 but is polled only later; TASS publishes it at 12:15 and is
    polled first. The monitor saw TASS first; Reuters reported first, and the alert (its
    ``outlets`` in order, their times, ``first_reported_by``), `monitor alerts show`
    and the console all say so."""
    app = signals_app(["tass-en", "reuters"], SUMMIT)
    newsroom.carry("reuters", STORIES[0], "r1")
    published_reuters = newsroom.clock
    step(newsroom, minutes=10)
    newsroom.carry("tass-en", STORIES[0], "t1")
    published_tass = newsroom.clock
    app.poll(names=["tass-en"])  # detected first
    (raised,) = [
        json.loads(line)
        for line in cli("alerts", "-c", str(newsroom.config), "--json").stdout.splitlines()
    ]
    assert raised["first_reported_by"] == "TASS"  # the only outlet known yet
    step(newsroom, minutes=5)
    app.poll(names=["reuters"])  # detected second, published first

    (line,) = cli("alerts", "-c", str(newsroom.config), "--json").stdout.splitlines()
    alert = json.loads(line)
    assert alert["feeds"] == ["tass-en", "reuters"]  # the order the monitor saw them
    assert [(o["outlet"], o["at"]) for o in alert["outlets"]] == [
        ("Reuters", format_time(published_reuters)),
        ("TASS", format_time(published_tass)),
    ]
    assert alert["first_reported_by"] == "Reuters"

    shown = cli("alerts", "show", "-c", str(newsroom.config), alert["id"]).stdout
    (first,) = [row for row in shown.splitlines() if "first reporter" in row]
    assert "Reuters" in first and "TASS" not in first

    url = console(app)
    html = httpx.get(url + "/", timeout=10).text
    assert re.search(r'class="first">\s*<span class="outlet"[^>]*>Reuters', html), html
    story = httpx.get(url + f"/stories/{alert['id']}", timeout=10).text
    assert re.findall(r'<li[^>]*>\s*<span class="outlet"[^>]*>([^<]*)</span>', story) == [
        "Reuters",
        "TASS",
    ]


def test_a_surge_linked_from_the_json_feed_has_a_page_without_a_story(
    newsroom: Newsroom, signals_app: Any, cli: Any, console: Callable[[App], str]
) -> None:
    topic = SUMMIT | {"surge": {"factor": 5, "window": "1h", "min": 2}}
    app = signals_app(["reuters"], topic)
    for n, title in enumerate(STORIES[:2]):
        newsroom.carry("reuters", title, f"s{n}")
    app.poll()
    url = console(app)
    items = httpx.get(url + "/alerts.json", timeout=10).json()["items"]
    surge = next(i for i in items if i["title"].startswith("surge:"))
    page = httpx.get(surge["url"], timeout=10)
    assert page.status_code == 200
    assert "first reporter" not in page.text and "read the article" not in page.text
    assert "Outlets, in the order" not in page.text
    assert "2 matches in 1h" in page.text
    shown = cli("alerts", "show", "-c", str(newsroom.config), surge["id"].split(":")[-1])
    assert shown.exit_code == 0, shown.output
    assert "first reporter" not in shown.stdout and "not configured" not in shown.stdout
