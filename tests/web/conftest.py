"""A stored scenario for the console: three feeds polled for real from 127.0.0.1 (one
story carried by two outlets, a hostile feed), and the console served on 127.0.0.1:0."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from tests.support.feedgen import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
STORY_URL = "https://news.example.org/world/trump-putin-anchorage"
HOSTILE_TITLE = (
    "Trump and Putin summit <script>document.title = 'PWNED'</script>"
    " <img src=x onerror=\"document.title = 'PWNED'\"> in Anchorage"
)
HUGE = "Anchorage " + "x" * 100_000


@dataclass
class Scenario:
    config: Path
    database_url: str
    story_id: str
    hostile_id: str
    alerts: list[dict[str, Any]]


def _items_a() -> list[Item]:
    return [
        Item(
            title="Trump and Putin meet for summit in Anchorage",
            link=STORY_URL,
            description="US President Donald Trump and Russian President Vladimir Putin held "
            "a summit in Anchorage, Alaska, on Friday.",
            published=NOW - timedelta(hours=3),
        )
    ]


def _items_b() -> list[Item]:
    return [
        Item(
            title="Trump, Putin hold Anchorage summit",
            link=STORY_URL,
            description="The summit between Trump and Putin in Anchorage lasted three hours.",
            published=NOW - timedelta(hours=2),
        )
    ]


def _items_hostile() -> list[Item]:
    return [
        Item(
            # A story of its own (its stored title is set to HOSTILE_TITLE below).
            title="Hostile outlet says Trump and Putin summit ends with odd markup "
            + html.escape("<b onmouseover=x>bold</b>"),
            link="javascript:window.__pwned=3",
            guid="hostile-1",
            description=html.escape(
                f"Trump and Putin at the summit <b onmouseover=x>{HUGE}</b>"
                ' <a href="javascript:window.__pwned=4">more</a>'
            ),
            published=NOW - timedelta(hours=1),
        )
    ]


@pytest.fixture
def scenario(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    database_url: str,
) -> Scenario:
    feeds = []
    for name, items in (("wire-a", _items_a()), ("paper-b", _items_b())):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            rss(items), content_type="application/rss+xml"
        )
        feeds.append({"name": name, "url": httpserver.url_for(f"/{name}.xml")})
    httpserver.expect_request("/hostile.xml").respond_with_data(
        rss(_items_hostile(), title="<script>alert(1)</script>"),
        content_type="application/rss+xml",
    )
    feeds.append({"name": "hostile-c", "url": httpserver.url_for("/hostile.xml")})
    config = write_config(feeds=feeds, max_age="30d")
    result = cli("poll", "-c", str(config))
    assert result.exit_code == 0, result.output
    _store_hostile_title(database_url)
    listed = cli("alerts", "-c", str(config), "--json")
    alerts = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    story = next(a for a in alerts if a["url"] == STORY_URL)
    hostile = next(a for a in alerts if "script" in a["title"])
    return Scenario(
        config=config,
        database_url=database_url,
        story_id=story["id"],
        hostile_id=hostile["id"],
        alerts=alerts,
    )


def _store_hostile_title(database_url: str) -> None:
    """Normalizing strips markup from titles, even escaped twice; but the pages must
    escape whatever the database holds (an older version's rows, another writer's), so
    the hostile item's stored title is set to the raw markup here."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alerts SET title = :t WHERE feed = 'hostile-c'"), {"t": HOSTILE_TITLE}
        )
        conn.execute(
            text(
                "UPDATE articles SET title = :t WHERE feed_id = "
                "(SELECT id FROM feeds WHERE name = 'hostile-c')"
            ),
            {"t": HOSTILE_TITLE},
        )
    engine.dispose()


@pytest.fixture
def console_url(scenario: Scenario) -> Iterator[str]:
    yield from _serve(scenario, token=None)


def _serve(scenario: Scenario, token: str | None) -> Iterator[str]:
    from monitor import storage
    from monitor.config.load import load_config
    from monitor.web import Console, WebServer, create_app

    config = load_config(scenario.config)
    engine = storage.open_database(config.database)
    console = Console(engine=engine, topics=tuple(config.topics))
    with WebServer("127.0.0.1:0", create_app(console, token=token)) as server:
        yield server.url
    engine.dispose()


@pytest.fixture
def token_console_url(scenario: Scenario) -> Iterator[str]:
    yield from _serve(scenario, token="s3cret-token-0123456789")
