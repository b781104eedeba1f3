"""normalize_feed: the text, dates, links and identities a reader and the matcher see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parsing import html_text, urls
from monitor.parsing.feed import parse_bytes
from monitor.parsing.normalize import canonicalize_url, html_to_text, normalize_feed
from monitor.types import Article, ParsedFeed, RawEntry

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts).resolve()
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data lives beside the checkout)")
    return path


def feed(*entries: RawEntry, language: str | None = None) -> ParsedFeed:
    return ParsedFeed(version="rss20", entries=entries, language=language)


def one(entry: RawEntry) -> list[Article]:
    return normalize_feed("f", feed(entry), language=None, now=NOW)


# -- text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("AT&amp;T &quot;deal&quot;", 'AT&T "deal"'),
        ("Trump &amp;quot;Board of Peace&amp;quot;", 'Trump "Board of Peace"'),
        ("<p>One</p><p>Two<br/>Three</p>", "One Two Three"),
        ("<b>bold</b> and <i>it</i>", "bold and it"),
        ("встреча в\u00a0Анкоридже", "встреча в Анкоридже"),
        ("a\u202fb\u2007c", "a b c"),
        ("  lots \n\n of \t space  ", "lots of space"),
        ("nul\x00here\x07 and \x1b[31mansi", "nulhere and [31mansi"),
        ("C1\x85control\x9f", "C1control"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("<script>alert(1)</script>visible<style>p{}</style>", "visible"),
        ("Cafe\u0301", "Café"),  # NFC
        ("&#8220;quoted&#8221; &#x2014; dash", "\u201cquoted\u201d \u2014 dash"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("", ""),
    ],
)
def test_html_becomes_clean_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_titles_and_texts_are_capped() -> None:
    entry = RawEntry(
        guid="g", title="T" * 5000, summary="ж" * 300_000, content="<p>" + "x" * 600_000
    )
    (article,) = one(entry)
    assert len(article.title) == 1000
    assert len(article.summary.encode("utf-8")) <= 256 * 1024
    assert len(article.content.encode("utf-8")) <= 256 * 1024
    assert article.summary == "ж" * (256 * 1024 // 2)


LONG_SUMMARY = (
    "Russian President Vladimir Putin and US President Donald Trump met in Anchorage on "
    "Friday for talks that lasted nearly three hours, officials said."
)


def test_an_entry_without_a_title_is_titled_with_the_start_of_its_summary() -> None:
    (article,) = one(RawEntry(guid="g", summary=f"<p>{LONG_SUMMARY}</p>", content="other text"))
    assert article.title == (
        "Russian President Vladimir Putin and US President Donald Trump met in Anchorage on "
        "Friday for talks…"
    )
    assert article.summary == LONG_SUMMARY  # the summary itself is untouched


def test_a_short_text_is_the_whole_title_and_content_stands_in_for_a_summary() -> None:
    (short,) = one(RawEntry(guid="a", summary="Putin lands in Alaska."))
    (from_content,) = one(RawEntry(guid="b", content=f"<div>{LONG_SUMMARY}</div>"))
    assert short.title == "Putin lands in Alaska."
    assert from_content.title.startswith("Russian President") and from_content.title[-1] == "…"


def test_one_long_word_is_cut_where_the_title_is_full() -> None:
    (article,) = one(RawEntry(guid="g", summary="x" * 500))
    assert article.title == "x" * 100 + "…"


def test_an_entry_with_no_title_and_no_text_is_titled_with_its_link() -> None:
    link = "https://news.example.org/2025/08/15/anchorage?utm_source=rss"
    (article,) = one(RawEntry(link=link))
    assert article.title == link


def test_a_made_up_title_changes_no_identity_or_change_key() -> None:
    """Articles stored before titles were made up must not look new or changed now."""
    untitled = RawEntry(summary=LONG_SUMMARY)
    (made_up,) = one(untitled)
    (titled,) = one(RawEntry(title=made_up.title, summary=LONG_SUMMARY))
    assert made_up.title == titled.title
    assert made_up.article_key != titled.article_key
    assert made_up.content_hash != titled.content_hash


# -- dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime(2026, 1, 15, 9, 0, tzinfo=UTC), datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        (
            datetime(
                2026, 1, 15, 12, 0, tzinfo=__import__("datetime").timezone(timedelta(hours=3))
            ),
            datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        ),
        (datetime(2026, 1, 15, 9, 0), datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),  # naive = UTC
        (datetime(1970, 1, 1, tzinfo=UTC), None),
        (datetime(1994, 12, 31, 23, 59, tzinfo=UTC), None),
        (NOW + timedelta(hours=23), NOW + timedelta(hours=23)),
        (NOW + timedelta(days=2), None),
        (None, None),
    ],
)
def test_dates_are_utc_and_implausible_ones_unknown(
    published: datetime | None, expected: datetime | None
) -> None:
    (article,) = one(RawEntry(guid="g", title="t", published=published))
    assert article.published == expected


def test_updated_stands_in_for_a_missing_published_date() -> None:
    when = datetime(2026, 1, 10, tzinfo=UTC)
    (article,) = one(RawEntry(guid="g", title="t", updated=when))
    assert article.published == when


# -- links -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,<script>", "ftp://example.org/x", "/relative",
     "mailto:a@b.c", "https://example.org/" + "a" * 2100],
)  # fmt: skip
def test_unusable_links_are_dropped(link: str) -> None:
    (article,) = one(RawEntry(guid="g", title="t", link=link))
    assert article.link is None and article.url is None


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.ORG/News/1?utm_source=rss&utm_medium=feed&id=7#top",
         "https://example.org/News/1?id=7"),
        ("http://example.org:80/a?fbclid=x&gclid=y", "http://example.org/a"),
        ("https://example.org:8443/a?b=1&msclkid=2&c=3", "https://example.org:8443/a?b=1&c=3"),
        ("https://user:pw@example.org/a", "https://example.org/a"),
        ("https://www.bbc.co.uk/news/x?at_medium=RSS&at_campaign=rss", "https://www.bbc.co.uk/news/x"),
        ("https://пример.рф/статья", "https://xn--e1afmkfd.xn--p1ai/статья"),
        ("https://example.org", "https://example.org/"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("javascript:alert(1)", None),
        ("data:text/plain,hi", None),
        ("not a url", None),
    ],
)  # fmt: skip
def test_canonical_urls(url: str, canonical: str | None) -> None:
    assert canonicalize_url(url) == canonical


def test_the_article_keeps_the_feeds_link_and_a_canonical_url() -> None:
    link = "https://example.org/a?utm_campaign=x"
    (article,) = one(RawEntry(guid="g", title="t", link=link))
    assert article.link == link and article.url == "https://example.org/a"


# -- language ----------------------------------------------------------------------


def test_language_is_the_entrys_then_the_feeds_then_the_hint() -> None:
    entries = (RawEntry(guid="1", title="a", language="de-DE"), RawEntry(guid="2", title="b"))
    tagged = normalize_feed("f", feed(*entries, language="ru-RU"), language="en", now=NOW)
    assert [a.language for a in tagged] == ["de", "ru"]
    hinted = normalize_feed("f", feed(*entries), language="en", now=NOW)
    assert [a.language for a in hinted] == ["de", "en"]


# -- identity ----------------------------------------------------------------------


def keys(*entries: RawEntry) -> list[str]:
    return [a.article_key for a in normalize_feed("f", feed(*entries), language=None, now=NOW)]


def test_identity_is_the_guid_when_the_guid_is_unique() -> None:
    first = keys(RawEntry(guid="g1", link="https://e.org/1", title="old title"))
    edited = keys(RawEntry(guid="g1", link="https://e.org/1-moved", title="new title"))
    assert first == edited


def test_a_reused_guid_is_told_apart_by_link() -> None:
    result = keys(
        RawEntry(guid="same", link="https://e.org/1", title="a"),
        RawEntry(guid="same", link="https://e.org/2", title="b"),
    )
    assert len(set(result)) == 2


def test_without_guid_the_link_is_the_identity_and_tracking_does_not_matter() -> None:
    a = keys(RawEntry(link="https://e.org/1?utm_source=x", title="a"))
    b = keys(RawEntry(link="https://e.org/1?utm_source=y", title="a, edited"))
    assert a == b


def test_without_guid_or_link_title_and_text_are_the_identity() -> None:
    result = keys(RawEntry(title="a", summary="x"), RawEntry(title="b", summary="x"))
    assert len(set(result)) == 2


def test_items_sharing_one_link_do_not_collapse() -> None:
    result = keys(*(RawEntry(link="https://meduza.io/", title=f"story {i}") for i in range(5)))
    assert len(set(result)) == 5


def test_the_same_item_twice_in_one_document_is_one_article() -> None:
    twice = RawEntry(guid="g", link="https://e.org/1", title="t", summary="s")
    assert len(keys(twice, twice)) == 1


def test_content_hash_changes_with_title_summary_or_content() -> None:
    base = RawEntry(guid="g", title="t", summary="s", content="c")
    variants = [base, RawEntry(guid="g", title="t2", summary="s", content="c"),
                RawEntry(guid="g", title="t", summary="s2", content="c"),
                RawEntry(guid="g", title="t", summary="s", content="c2")]  # fmt: skip
    hashes = [one(v)[0].content_hash for v in variants]
    assert len(set(hashes)) == 4
    assert len({one(v)[0].article_key for v in variants}) == 1


def test_only_the_newest_max_entries_are_processed() -> None:
    entries = [
        RawEntry(guid=str(i), title=str(i), published=NOW - timedelta(hours=i)) for i in range(10)
    ]
    shuffled = entries[5:] + entries[:5]
    articles = normalize_feed("f", feed(*shuffled), language=None, now=NOW, max_entries=3)
    assert sorted(a.title for a in articles) == ["0", "1", "2"]


# -- real feeds --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["meduza_chronicle_2025-08-16.xml", "meduza_chronicle_2026-01-04.xml"]
)
def test_meduza_regenerated_feeds_keep_all_24_items_as_distinct_articles(name: str) -> None:
    content = shared("feeds", "third_party_regenerated", name).read_bytes()
    parsed = parse_bytes(content, url="https://meduza.io/rss", headers={})
    articles = normalize_feed("meduza-ru", parsed, language="ru", now=NOW)
    assert len(articles) == 24 and len({a.article_key for a in articles}) == 24
    # The shared front-page link is kept for display, but is no story's key.
    assert {a.link for a in articles} == {"https://meduza.io/"}
    assert {a.url for a in articles} == {None}
    assert all(a.published is None for a in articles)  # every pubDate is 1 Jan 1970
    assert all("\u00a0" not in a.title for a in articles)
    assert all(a.language == "ru" for a in articles)


def test_no_break_spaces_in_real_russian_titles_are_folded() -> None:
    content = shared(
        "feeds", "third_party_regenerated", "meduza_chronicle_2025-08-16.xml"
    ).read_bytes()
    assert "\u00a0".encode() in content
    parsed = parse_bytes(content, url="https://meduza.io/rss", headers={})
    titles = [a.title for a in normalize_feed("m", parsed, language="ru", now=NOW)]
    raw = [e.title or "" for e in parsed.entries]
    folded = [t for t, r in zip(titles, raw, strict=True) if "\u00a0" in r]
    assert folded and all(" " in t and "\u00a0" not in t for t in folded)


def test_publisher_feeds_normalize_to_one_article_per_distinct_item() -> None:
    root = shared("feeds", "publishers")
    for path in sorted(root.iterdir()):
        if path.name == "reuters_2_truncated.xml" or not path.is_file():
            continue
        parsed = parse_bytes(path.read_bytes(), url="https://example.org/feed", headers={})
        articles = normalize_feed(path.stem, parsed, language=None, now=NOW)
        distinct = {(e.guid, e.link, e.title, e.summary, e.content) for e in parsed.entries}
        assert len(articles) == len(distinct), path.name
        for article in articles:
            assert "&amp;" not in article.title and "&quot;" not in article.title
            assert article.url is None or article.url.startswith(("http://", "https://"))


# -- the plain-tag reading and the general walk --------------------------------------

_FRAGMENTS = [
    "<p>", "</p>", "<br/>", "<b>", "</b>", "<a href='x'>", '<a href="y>z">', "<script>",
    "</script>", "<!-- c -->", "<![CDATA[ x ]]>", "<?pi?>", "&amp;", "&lt;p&gt;", "word",
    "  ", "\t", "\u00a0", "<P CLASS=x>", "<Br>", "<div", ">", "<svg/>", "<math>",
    "</Div >", "<p:x>", "<br-x>", "é", "e\u0301", "<\u017fection>", "&#60;p&#62;",
    "<style>x</style>", "\x00", "\u200b", "<img src=x alt='<p>'>", "</ p>", "<1>", "&nbsp;",
    "<" + "p" * 70 + ">", "a < b", "\x01",
]  # fmt: skip


@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=14))
@settings(max_examples=3000, deadline=None)
def test_plain_tags_read_as_the_general_walk_reads_them(parts: list[str]) -> None:
    text = "".join(parts)
    plain = html_text._strip_plain_markup(text)
    assert plain is None or plain == html_text._strip_any_markup(text)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # "<div<P CLASS=x>" is one tag (a div: a break), ending at the first ">"
        ("word<div<P CLASS=x>>after", "word >after"),
        ("<p>one</p><p>two</p>", "one two"),
        ('<a title="a>b">link</a> text', "link text"),
        ("<script>var a = '<p>';</script>shown", "shown"),
    ],
)
def test_tags_end_where_the_general_walk_ends_them(html: str, text: str) -> None:
    assert html_to_text(html) == text


@given(st.from_regex(r"[A-Za-z0-9.\-\[\]:@%_~\u00e9]{0,30}(:[0-9a-z ]{0,7})?", fullmatch=True))
@settings(max_examples=2000, deadline=None)
def test_a_links_host_and_port_are_urllibs(netloc: str) -> None:
    try:
        parts = urlsplit(f"https://{netloc}/path?q=1")
    except ValueError:
        return  # not a link at all
    try:
        expected: object = (parts.hostname, parts.port)
    except ValueError as exc:
        expected = type(exc)
    try:
        got: object = urls._host_and_port(parts)
    except ValueError as exc:
        got = type(exc)
    assert got == expected


@pytest.mark.parametrize(
    ("link", "url"),
    [
        ("http://example.org:abc/news/1", None),  # a port that is not one: no canonical URL
        ("http://example.org:99999/news/1", None),
        ("HTTP://Example.org:80/news/1", "http://example.org/news/1"),
    ],
)
def test_a_link_with_an_odd_port_is_kept_without_a_canonical_url(link: str, url: str) -> None:
    [article] = one(RawEntry(guid="g", link=link, title="t"))
    assert article.link == link
    assert article.url == url


@given(
    st.from_regex(
        r"https?://[a-z0-9.-]{1,12}(/[a-zA-Z0-9/;%&=?._~'\"!$()*+,:@-]{0,20})?(\?[a-z0-9_=&?#-]{0,20})?",
        fullmatch=True,
    )
)
@settings(max_examples=2000, deadline=None)
def test_a_plain_link_is_made_canonical_as_urllib_splits_it(link: str) -> None:
    plain = urls._PLAIN_LINK.fullmatch(link)
    if plain is not None:
        assert urls._plain_canonical(*plain.groups()) == urls._canonical(urlsplit(link))
