"""Several local feeds as different outlets, on a stepped clock (the signals tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request, Response

from monitor.config.load import load_config
from monitor.service.app import App, build_app
from tests.support.feedgen import Item, rss

SUMMIT = {
    "id": "summit",
    "name": "Trump–Putin summit",
    "all": [["Trump"], ["Putin"]],
}

OUTLETS: dict[str, dict[str, str]] = {
    "tass-en": {"outlet": "TASS", "kind": "state", "country": "RU"},
    "tass-world": {"outlet": "TASS", "kind": "state", "country": "RU"},
    "tass-ru": {"outlet": "TASS", "kind": "state", "country": "RU"},
    "reuters": {"outlet": "Reuters", "kind": "wire", "country": "GB"},
    "meduza": {"outlet": "Meduza", "kind": "independent", "country": "LV"},
    "dw": {"outlet": "DW", "kind": "public", "country": "DE"},
}


class Newsroom:
    """Feeds served from 127.0.0.1, their items set by the test, fetches counted."""

    def __init__(self, httpserver: Any) -> None:
        self.server = httpserver
        self.items: dict[str, list[Item]] = {}
        self.fetches: dict[str, list[datetime]] = {}
        # Five minutes into the current hour, not the wall clock's minute: hourly digest
        # periods are aligned to the hour, and a test that steps a few minutes from 05:58
        # would cross a period's end it did not mean to.
        self.clock = datetime.now(UTC).replace(minute=5, second=0, microsecond=0)
        self.config: Path | None = None

    def url(self, feed: str) -> str:
        self.items.setdefault(feed, [])
        self.fetches.setdefault(feed, [])

        def serve(request: Request, feed: str = feed) -> Response:
            self.fetches[feed].append(self.clock)
            return Response(rss(self.items[feed]), content_type="application/rss+xml")

        self.server.expect_request(f"/{feed}.xml").respond_with_handler(serve)
        return str(self.server.url_for(f"/{feed}.xml"))

    def carry(self, feed: str, title: str, slug: str) -> None:
        """``feed`` publishes a story now (its own URL under its own site)."""
        self.items[feed].insert(
            0,
            Item(
                title=title,
                link=f"https://{feed}.example.org/{slug}",
                description=title,
                published=self.clock,
            ),
        )


@pytest.fixture
def newsroom(httpserver: Any) -> Newsroom:
    return Newsroom(httpserver)


@pytest.fixture
def signals_app(
    newsroom: Newsroom, write_config: Callable[..., Path]
) -> Iterator[Callable[..., App]]:
    """An app over the named feeds (each with its outlet), its clock the newsroom's."""
    apps: list[App] = []

    def make(
        feeds: list[str],
        topic: dict[str, Any],
        interval: str = "1h",
        languages: dict[str, str] | None = None,
        **extra: Any,
    ) -> App:
        config = write_config(
            feeds=[
                {
                    "name": f,
                    "url": newsroom.url(f),
                    "language": (languages or {}).get(f, "en"),
                    "interval": interval,
                    "source": OUTLETS[f],
                }
                for f in feeds
            ],
            topics=[topic],
            **extra,
        )
        newsroom.config = config
        app = build_app(load_config(config))
        app.now = lambda: newsroom.clock
        app.sync_feeds()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def step(newsroom: Newsroom, **delta: float) -> None:
    newsroom.clock += timedelta(**delta)
