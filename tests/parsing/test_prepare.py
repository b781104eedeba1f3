"""Parsing and normalizing in a parser worker (as a poll sifts a body there): same articles,
same errors, same deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.parsing.feed import parse_bytes
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.pool import ParserPool
from monitor.sifting import TopicSource, sift_feed
from tests.support.feedgen import OTHER_EN, SUMMIT_EN, rss

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml"}
NO_TOPICS = TopicSource.of([])


def slow(content: bytes, *, url: str, headers: Mapping[str, str], seconds: float) -> str:
    """A worker target that takes its time (imported by the worker by name)."""
    time.sleep(seconds)
    return f"done after {seconds}s"


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    workers = ParserPool(size=1)
    yield workers
    workers.shutdown()


def test_the_worker_returns_what_parsing_and_normalizing_here_gives(pool: ParserPool) -> None:
    body = rss([SUMMIT_EN, OTHER_EN], ttl=30, language="en")

    sifted = sift_feed(
        body,
        url="http://127.0.0.1/f.xml",
        headers=HEADERS,
        feed="wire",
        language=None,
        now=NOW,
        max_entries=500,
        known={},
        topics=NO_TOPICS,
        deadline=30,
        pool=pool,
    )

    here = parse_bytes(body, url="http://127.0.0.1/f.xml", headers=HEADERS)
    articles = [f.item.article for f in sifted.fresh]
    assert articles == normalize_feed("wire", here, language=None, now=NOW)
    assert [a.title for a in articles] == [SUMMIT_EN.title, OTHER_EN.title]
    assert sifted.feed.ttl == here.ttl and sifted.feed.language == "en"
    assert sifted.feed.entries == ()  # the articles travel back, not the raw entries


def test_a_page_that_is_not_a_feed_is_the_same_error_as_before(pool: ParserPool) -> None:
    with pytest.raises(ParseError) as caught:
        sift_feed(
            b"<!doctype html><html><body>hi</body></html>",
            url="http://127.0.0.1/",
            headers={},
            feed="f",
            language=None,
            now=NOW,
            max_entries=500,
            known={},
            topics=NO_TOPICS,
            deadline=30,
            pool=pool,
        )
    assert caught.value.kind == "not_a_feed"


def test_a_job_past_its_deadline_is_killed_and_the_next_one_runs() -> None:
    pool = ParserPool(size=1)
    try:
        started = time.monotonic()
        with pytest.raises(ParseError) as caught:
            pool.run(
                "tests.parsing.test_prepare:slow",
                b"",
                url="u",
                headers={},
                deadline=1.0,
                seconds=60,
            )
        assert caught.value.kind == "parse_timeout"
        assert time.monotonic() - started < 10

        assert (
            pool.run(
                "tests.parsing.test_prepare:slow", b"", url="u", headers={}, deadline=30, seconds=0
            )
            == "done after 0s"
        )
    finally:
        pool.shutdown()
