"""Hostile feed bodies: entities that expand, text without end, markup built to make
HTML-to-text quadratic, a parse that wants all the memory there is.

Bodies go through the real fetch → parse worker → store path (a real HTTP server on
127.0.0.1, a real SQLite file) beside a healthy feed, which must be stored as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor import storage
from monitor.config.load import load_config
from monitor.errors import ParseError
from monitor.parsing.normalize import MAX_FEED_TEXT, normalize_feed
from monitor.parsing.pool import ParserPool
from monitor.service.app import build_app
from monitor.types import ParsedFeed, RawEntry
from tests.support.feedgen import OTHER_EN, rss

pytestmark = pytest.mark.hostile

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _doc(dtd: str, items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{dtd}]><rss version="2.0"><channel>'
        f"<title>t</title>{items}</channel></rss>"
    ).encode()


def _item(n: int, description: str) -> str:
    return (
        f"<item><title>i{n}</title><guid>g{n}</guid><description>{description}</description></item>"
    )


LAUGHS = "".join(
    [f'<!ENTITY a0 "{"lol " * 10}">']
    + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 9)]
)
BIG_ONE = f'<!ENTITY big "{"word " * 30_000}">'

BODIES = {
    "billion-laughs": _doc(LAUGHS, _item(1, "&a8;")),
    "big-entity-in-every-item": _doc(BIG_ONE, "".join(_item(n, "&big;") for n in range(200))),
    "parameter-entity": _doc('<!ENTITY % p "&#37;">', _item(1, "x")),
    "billion-laughs-utf16": _doc(LAUGHS, _item(1, "&a8;")).decode().encode("utf-16"),
}


def _poll(
    httpserver: HTTPServer, write_config: Callable[..., Path], body: bytes
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    httpserver.expect_request("/bad.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    httpserver.expect_request("/ok.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[
            {"name": "bad", "url": httpserver.url_for("/bad.xml")},
            {"name": "ok", "url": httpserver.url_for("/ok.xml")},
        ]
    )
    app = build_app(load_config(config))
    try:
        app.sync_feeds()
        outcomes = {o.feed: o for o in app.poll()}
        states = {s.spec.name: s for s in storage.list_feed_status(app.engine)}
    finally:
        app.close()
    return outcomes, states, config.parent / "monitor.db"


@pytest.mark.parametrize("name", list(BODIES))
def test_entities_that_expand_are_the_feeds_error(
    httpserver: HTTPServer, write_config: Callable[..., Path], name: str
) -> None:
    outcomes, states, db = _poll(httpserver, write_config, BODIES[name])
    assert outcomes["bad"].status == "error"
    assert "could expand it" in (states["bad"].state.last_error or "")
    assert outcomes["ok"].status == "ok" and states["ok"].articles == 1
    assert db.stat().st_size < 2 * 1024 * 1024


def test_a_declared_nbsp_still_parses(
    httpserver: HTTPServer, write_config: Callable[..., Path]
) -> None:
    body = _doc('<!ENTITY nbsp "&#160;">', _item(1, "Trump&nbsp;and Putin"))
    outcomes, states, _ = _poll(httpserver, write_config, body)
    assert outcomes["bad"].status == "ok" and states["bad"].articles == 1


def test_one_feeds_text_is_capped_per_poll() -> None:
    # What a parser that expanded entities (or any other way to more text than bytes)
    # would hand over: 500 items of 40 KB each, 20 MB of text from one poll.
    text = "word " * 8_000
    parsed = ParsedFeed(
        version="rss20",
        entries=tuple(RawEntry(guid=f"g{n}", title=f"i{n}", summary=text) for n in range(500)),
    )
    articles = normalize_feed("f", parsed, language="en", now=NOW)
    assert len(articles) == 500  # every item is kept, with its title and key
    stored = sum(len(a.summary.encode()) + len(a.content.encode()) for a in articles)
    assert stored <= MAX_FEED_TEXT


QUADRATIC = {
    "unclosed-attribute": '<a b="' * 20_000,
    "unclosed-tags": "<a " * 20_000,
    "unclosed-comments": "<!--" * 20_000,
    "cdata-openers": "<![CDATA[" * 20_000,
}


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    workers = ParserPool(size=1)
    yield workers
    workers.shutdown()


@pytest.mark.parametrize("name", list(QUADRATIC))
def test_html_built_to_be_quadratic_parses_within_the_deadline(name: str, pool: ParserPool) -> None:
    from xml.sax.saxutils import escape

    # Escaped once in the feed: the description is HTML that html-to-text must read.
    items = _item(1, escape("Trump meets Putin. " + QUADRATIC[name]))
    from monitor.sifting import TopicSource, sift_feed

    sifted = sift_feed(
        _doc("", items).replace(b"<!DOCTYPE rss []>", b""),
        url="http://127.0.0.1/",
        headers={},
        feed="f",
        language="en",
        now=NOW,
        max_entries=500,
        known={},
        topics=TopicSource.of([]),
        deadline=20,  # html.parser needed minutes for these
        pool=pool,
    )
    assert sifted.fresh[0].item.article.summary.startswith("Trump meets Putin.")


def hog(_content: bytes, **_: object) -> str:
    """A parse that wants 4 GiB (run in the worker by name)."""
    blocks = [bytearray(256 << 20) for _ in range(16)]
    return str(len(blocks))


def test_a_parser_worker_cannot_take_more_than_its_memory_limit() -> None:
    pool = ParserPool(size=1)
    try:
        with pytest.raises(ParseError) as caught:
            pool.run("tests.hostile.test_feed_body:hog", b"", url="u", headers={}, deadline=30)
        assert "memory" in str(caught.value) or "MiB" in str(caught.value)
        # The next feed gets a fresh worker.
        assert pool.run(
            "monitor.parsing.feed:parse_bytes", rss([OTHER_EN]), url="u", headers={}, deadline=30
        )
    finally:
        pool.shutdown()


ODD_BODIES = {
    "nested-100k": b'<?xml version="1.0"?><rss version="2.0"><channel>'
    + b"<x>" * 100_000
    + b"</channel></rss>",
    "nul-bytes": _doc("", _item(1, "Trump\x00Putin")).replace(b"<!DOCTYPE rss []>", b"")
    + b"\x00" * 1000,
    "one-word-8mb": _doc("", _item(1, "x" * 8_000_000)).replace(b"<!DOCTYPE rss []>", b""),
    "50k-items": _doc("", "".join(_item(n, "") for n in range(50_000))).replace(
        b"<!DOCTYPE rss []>", b""
    ),
}


@pytest.mark.parametrize("name", list(ODD_BODIES))
def test_odd_bodies_fail_or_pass_alone(
    httpserver: HTTPServer, write_config: Callable[..., Path], name: str
) -> None:
    outcomes, states, db = _poll(httpserver, write_config, ODD_BODIES[name])
    bad = outcomes["bad"]
    assert bad.status in ("ok", "error")
    if bad.status == "error":
        assert states["bad"].state.last_error
    else:
        assert states["bad"].articles <= 500  # max_entries: the newest 500 at most
    assert outcomes["ok"].status == "ok" and states["ok"].articles == 1
    assert db.stat().st_size < 2 * MAX_FEED_TEXT
