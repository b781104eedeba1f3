"""The fast reading of RFC 822 and W3C-DTF dates gives feedparser's instant, always.

:func:`monitor.parsing.feed_dates.parse_date` reads the two common forms itself and
leaves the rest to feedparser's ``_parse_date``; here both readings are compared on
every date of the test corpora (feedparser's own test files and ../shared/feeds) and on
generated strings of both forms (odd zones, two-digit years, missing seconds, fractions,
impossible days, lower case), so the fast reading can never move an article's date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedparser.datetimes import _parse_date as feedparser_date
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from monitor.parsing.feed_dates import _fast_date, parse_date
from monitor.parsing.feed_fields import utc_time

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeds"
_DATE_NAMES = {
    "pubdate", "published", "updated", "date", "issued", "modified", "created",
    "lastbuilddate", "expirationdate",
}  # fmt: skip


def feedparsers(text: str) -> datetime | None:
    return utc_time(feedparser_date(text))


def test_the_common_forms_are_read_without_feedparser() -> None:
    assert _fast_date("Fri, 15 Aug 2025 21:30:00 +0300") == datetime(
        2025, 8, 15, 18, 30, tzinfo=UTC
    )
    assert _fast_date("2025-08-16T08:00:00Z") == datetime(2025, 8, 16, 8, 0, tzinfo=UTC)
    assert _fast_date("2025-08-15T10:00:00+03:00") == datetime(2025, 8, 15, 7, tzinfo=UTC)
    # feedparser's reading, kept: W3C-DTF '+hhmm' keeps the last digit of the minutes
    assert _fast_date("2025-08-15T10:00:00+0530") == datetime(2025, 8, 15, 5, tzinfo=UTC)
    assert _fast_date("15 Aug 99 10:00 EST") == datetime(1999, 8, 15, 15, tzinfo=UTC)
    # not one of the two forms, or no valid date in it: feedparser decides
    for other in ("not a date", "2025-02-30T10:00:00Z", "Fri, 15 Aug 2025 21:30:00 CEST"):
        assert _fast_date(other) is None
    assert parse_date("not a date") is None
    assert parse_date("Sun Jan  4 16:29:06 PST 2004") == feedparsers("Sun Jan  4 16:29:06 PST 2004")


def _corpus_dates() -> list[str]:
    found: set[str] = set()
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    folders = ("feedparser_tests", "parser_edge_cases", "publishers", "third_party_regenerated")
    for folder in folders:
        root = (SHARED / folder).resolve()
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            try:
                tree = etree.fromstring(path.read_bytes(), parser)
            except (etree.XMLSyntaxError, ValueError):
                continue
            if tree is None:
                continue
            for el in tree.iter():
                if not isinstance(el.tag, str) or not el.text:
                    continue
                local = el.tag.rsplit("}", 1)[-1].lower()
                text = el.text.strip()
                if local in _DATE_NAMES or (len(text) < 60 and _fast_date(text) is not None):
                    found.add(text)
    return sorted(found)


def test_every_date_of_the_corpora_reads_as_feedparser_reads_it() -> None:
    dates = _corpus_dates()
    if not dates:
        pytest.skip(f"{SHARED} is absent (the shared data lives beside the checkout)")
    differ = [d for d in dates if parse_date(d) != feedparsers(d)]
    assert differ == []
    fast = sum(_fast_date(d) is not None for d in dates)
    assert fast > len(dates) // 2, (fast, len(dates))  # the fast reading is the usual one


def _cased(text: str, lower: bool) -> str:
    return text.lower() if lower else text


_DAYS = st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
_MONTH_NAMES = st.sampled_from(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo"]
)
_NUMERIC_ZONES = st.builds(
    lambda sign, h, m, colon: f"{sign}{h:02d}{':' if colon else ''}{m:02d}",
    st.sampled_from("+-"),
    st.integers(0, 23),
    st.integers(0, 59),
    st.booleans(),
)
_NAMED_ZONES = st.sampled_from(
    ["GMT", "UT", "UTC", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT",
     "AST", "ADT", "AT", "ET", "CT", "MT", "PT", "MET", "MEST", "CEST", "BST", "A", "N",
     "M", "Y", "XYZ"]
)  # fmt: skip


@st.composite
def rfc822_dates(draw: st.DrawFn) -> str:
    day = draw(_DAYS)
    weekday = f"{day}, " if draw(st.booleans()) else ""
    year = draw(st.one_of(st.integers(1895, 2105), st.integers(0, 99)))
    year_text = f"{year:02d}" if year < 100 else str(year)
    seconds = f":{draw(st.integers(0, 61)):02d}" if draw(st.booleans()) else ""
    zone = draw(st.one_of(_NUMERIC_ZONES, _NAMED_ZONES))
    text = (
        f"{weekday}{draw(st.integers(0, 32))} {draw(_MONTH_NAMES)} {year_text} "
        f"{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}{seconds} {zone}"
    )
    return _cased(text, draw(st.booleans()))


@st.composite
def w3dtf_dates(draw: st.DrawFn) -> str:
    text = (
        f"{draw(st.integers(1895, 2105))}-{draw(st.integers(0, 13)):02d}"
        f"-{draw(st.integers(0, 32)):02d}"
    )
    if draw(st.integers(0, 4)):
        text += f"T{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 61)):02d}"
            if draw(st.booleans()):
                text += f".{draw(st.integers(0, 999999))}"
        text += draw(st.one_of(st.just(""), st.just("Z"), _NUMERIC_ZONES))
    return _cased(text, draw(st.booleans()))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(rfc822_dates(), w3dtf_dates()))
def test_generated_rfc822_and_w3dtf_dates_read_as_feedparser_reads_them(text: str) -> None:
    assert parse_date(text) == feedparsers(text)
