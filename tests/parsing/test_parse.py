"""Parsing in a worker process on real feeds: item counts, encodings, bozo, the deadline."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.pool import ParserPool
from monitor.types import ParsedFeed

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><language>en</language>'
    b"<ttl>90</ttl><item><title>One</title><guid>1</guid></item></channel></rss>"
)


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts).resolve()
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data lives beside the checkout)")
    return path


def source_counts() -> list[tuple[str, int]]:
    """(file, items) for every publishers/ row of the table in SOURCES.md."""
    path = SHARED / "feeds" / "SOURCES.md"
    if not path.exists():
        return []
    rows = re.findall(
        r"^\| `(publishers/[^`]+)` \|(?:[^|]*\|){3} (\d+) \|", path.read_text("utf-8"), re.M
    )
    return [(name, int(items)) for name, items in rows]


_POOL = ParserPool()


def parse_feed(
    content: bytes, *, url: str, headers: Mapping[str, str], deadline: float = 30.0
) -> ParsedFeed:
    """The parse as polling runs it: in a worker process, under a deadline."""
    return _POOL.parse(content, url=url, headers=headers, deadline=deadline)


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> object:
    yield None
    _POOL.shutdown()


def test_sources_table_is_read() -> None:
    shared("feeds", "SOURCES.md")
    assert len(source_counts()) == 36


@pytest.mark.parametrize(("name", "items"), source_counts() or [("publishers/absent", 0)])
def test_every_publisher_feed_parses_to_its_listed_item_count(name: str, items: int) -> None:
    content = shared("feeds", name).read_bytes()
    if name.endswith("reuters_2_truncated.xml"):
        with pytest.raises(ParseError) as caught:
            parse_feed(content, url="https://example.org/feed", headers={})
        assert caught.value.kind == "parse_error"
        return
    parsed = parse_feed(content, url="https://example.org/feed", headers={})
    assert len(parsed.entries) == items
    assert parsed.entries  # every listed feed but the truncated one has items


def test_feed_level_facts_are_kept() -> None:
    parsed = parse_feed(
        RSS, url="https://example.org/feed", headers={"Content-Type": "application/rss+xml"}
    )
    assert parsed.version == "rss20" and parsed.title == "T" and parsed.language == "en"
    assert parsed.ttl is not None and parsed.ttl.total_seconds() == 90 * 60
    assert parsed.bozo is None
    assert [e.guid for e in parsed.entries] == ["1"]


@pytest.mark.parametrize(
    ("tags", "hint"),
    [
        ("<sy:updatePeriod>hourly</sy:updatePeriod>", timedelta(hours=1)),
        (
            "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
            timedelta(hours=6),
        ),
        ("<sy:updateFrequency>2</sy:updateFrequency>", timedelta(minutes=30)),  # hourly
        ("<ttl>90</ttl><sy:updatePeriod>hourly</sy:updatePeriod>", timedelta(minutes=90)),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("<sy:updateFrequency>0</sy:updateFrequency>", None),
        ("<sy:updateFrequency>99999999999</sy:updateFrequency>", None),
    ],
)
def test_syndication_update_period_is_a_cache_hint(tags: str, hint: timedelta | None) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>T</title>'
        f"{tags}<item><title>One</title><guid>1</guid></item></channel></rss>"
    ).encode()
    assert parse_feed(body, url="https://example.org/f", headers={}).ttl == hint


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "not_a_feed"),
        (b"  \n\t ", "not_a_feed"),
        (b"<!DOCTYPE html><html><body><a href='/rss'>RSS</a></body></html>", "not_a_feed"),
        (
            b'<?xml version="1.0"?>\n<!-- hi -->\n<html xmlns="http://www.w3.org/1999/xhtml"></html>',
            "not_a_feed",
        ),
        (b"\xef\xbb\xbf<html><head></head></html>", "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "not_a_feed"),
        (b"<note><to>Tove</to></note>", "not_a_feed"),
        (b'<rss version="2.0"><channel><title>cut', "parse_error"),
    ],
)
def test_what_is_not_a_feed_is_refused_with_a_kind(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url="https://example.org/feed", headers={})
    assert caught.value.kind == kind


def test_a_recovered_feed_is_accepted_with_its_bozo_reason() -> None:
    broken = b'<rss version="2.0"><channel><item><title>A &nbsp; B</title><guid>x</guid></item>'
    parsed = parse_feed(broken, url="https://example.org/feed", headers={})
    assert len(parsed.entries) == 1
    assert parsed.bozo


def test_a_well_formed_empty_feed_is_a_feed() -> None:
    parsed = parse_feed(
        b'<rss version="2.0"><channel><title>quiet</title></channel></rss>',
        url="https://example.org/feed",
        headers={"Content-Type": "application/rss+xml"},
    )
    assert parsed.entries == () and parsed.version == "rss20"


def test_feedparser_never_opens_a_local_path() -> None:
    # Given as a string, feedparser would try a path or URL before treating it as data.
    with pytest.raises(ParseError) as caught:
        parse_feed(b"/etc/passwd", url="https://example.org/feed", headers={})
    assert caught.value.kind == "not_a_feed"


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    doc = (
        b'<rss version="2.0"><channel><item><title>a</title><link>/news/1</link>'
        b"<guid>1</guid></item></channel></rss>"
    )
    parsed = parse_feed(doc, url="https://example.org/rss/feed.xml", headers={})
    assert parsed.entries[0].link == "https://example.org/news/1"
    assert parsed.entries[0].guid == "1"  # a GUID is a name, never resolved like a link


def test_investing_ru_pubdate_without_zone_is_read_as_utc() -> None:
    parsed = parse_feed(
        shared("feeds", "publishers", "investing_ru_1.xml").read_bytes(),
        url="https://ru.investing.com/rss",
        headers={},
    )
    assert parsed.entries[0].published == datetime(2022, 12, 30, 16, 22, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("publishers", "jn_pt_1.xml"), "Mãe de utente é a nova presidente da Raríssimas"),
        (("publishers", "uol_1.xml"), "simulações de 2º turno"),
        (("publishers", "heise_2_iso8859_fragment.xml"), "Glasfaserförderung"),
        (("feedparser_tests", "illformed", "chardet", "koi8r.xml"), "Как пережить новогоднюю ночь"),
        (("parser_edge_cases", "fastfeedparser_utf16_encoded.xml"), "UTF-16 Entry 1"),
    ],
)
def test_declared_undeclared_and_misdeclared_encodings_decode_to_the_right_text(
    path: tuple[str, ...], expected: str
) -> None:
    content = shared("feeds", *path).read_bytes()
    parsed = parse_feed(content, url="https://example.org/feed", headers={})
    titles = " | ".join(e.title or "" for e in parsed.entries)
    assert expected in titles
    assert "Ã" not in titles and "\ufffd" not in titles


def test_http_charset_decides_over_a_missing_declaration() -> None:
    body = '<rss version="2.0"><channel><item><title>Путин</title></item></channel></rss>'.encode(
        "cp1251"
    )
    parsed = parse_feed(
        body,
        url="https://example.org/feed",
        headers={"Content-Type": "text/xml; charset=windows-1251"},
    )
    assert parsed.entries[0].title == "Путин"


def test_a_hung_parse_is_killed_at_the_deadline_and_the_pool_recovers() -> None:
    # feedparser's author e-mail regular expression is quadratic: this one field takes
    # well over ten seconds in-process. The undefined entity makes the document
    # ill-formed, so the fast path declines it and feedparser gets it.
    hostile = (
        b'<rss version="2.0"><channel><item><title>x&nbsp;</title><author>a@'
        + b"a-" * 40000
        + b"</author></item></channel></rss>"
    )
    pool = ParserPool(size=1)
    try:
        started = time.monotonic()
        with pytest.raises(ParseError) as caught:
            pool.parse(hostile, url="https://example.org/feed", headers={}, deadline=1.0)
        assert caught.value.kind == "parse_timeout"
        assert time.monotonic() - started < 10  # cut at the 1 s deadline
        parsed = pool.parse(RSS, url="https://example.org/feed", headers={}, deadline=10.0)
        assert len(parsed.entries) == 1
    finally:
        pool.shutdown()


def test_retiring_workers_after_their_share_of_parses_keeps_the_pool_working() -> None:
    pool = ParserPool(size=1, max_calls=2)
    try:
        for _ in range(5):
            assert len(pool.parse(RSS, url="https://e.org/", headers={}, deadline=10).entries) == 1
    finally:
        pool.shutdown()


def test_parse_feed_is_safe_from_several_threads() -> None:
    docs = [RSS.replace(b"<guid>1</guid>", b"<guid>%d</guid>" % i) for i in range(12)]
    results: dict[int, str | None] = {}

    def work(i: int) -> None:
        parsed = parse_feed(docs[i], url="https://example.org/feed", headers={})
        results[i] = parsed.entries[0].guid

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: str(i) for i in range(12)}


def test_the_whole_feedparser_corpus_parses_and_normalizes_without_escaping_errors() -> None:
    root = shared("feeds", "feedparser_tests")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".xml", ".json", ".rdf", ".atom", ".rss")
    )
    assert len(files) > 2000
    accepted = refused = 0
    slowest = 0.0
    for path in files:
        started = time.monotonic()
        try:
            parsed = parse_feed(path.read_bytes(), url="http://example.org/feed", headers={})
        except ParseError as exc:
            assert exc.kind != "parse_timeout", path
            refused += 1
            continue
        normalize_feed("corpus", parsed, language=None, now=NOW)
        slowest = max(slowest, time.monotonic() - started)
        accepted += 1
    assert slowest < 30.0
    assert accepted > 1500 and accepted + refused == len(files)
