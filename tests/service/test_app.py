"""`App.poll`: one pass reaches every feed, however the pool and the claims interleave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.config.load import load_config
from monitor.service.app import build_app
from tests.support.feedgen import OTHER_EN, rss


def test_a_second_pass_polls_every_feed_once(
    httpserver: HTTPServer, write_config: Callable[..., Path]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/feed.xml")
    feeds = [{"name": f"f{i:02}", "url": f"{url}?n={i}"} for i in range(60)]
    # One worker claims a handful at a time; after the first pass every feed has a
    # jittered next poll, so feeds polled a moment ago can sort before the others.
    app = build_app(load_config(write_config(feeds=feeds, workers=1)))
    try:
        app.sync_feeds()
        first = app.poll()
        second = app.poll()
    finally:
        app.close()

    assert sorted(o.feed for o in first) == [f["name"] for f in feeds]
    assert sorted(o.feed for o in second) == [f["name"] for f in feeds]
    assert {o.status for o in second} == {"unchanged"}
