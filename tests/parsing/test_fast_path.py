"""The fast parse path gives the articles feedparser gives, or leaves the feed to it.

Every feed the fast path (lxml) takes must normalize to the same articles as through
feedparser: identity key, title, link, canonical URL, texts, date, language, GUID and
change hash. Checked on small feeds of every format written here (so a fresh clone tests
the path), on feedparser's own test corpus and on every real feed in ../shared/feeds (the
publishers' feeds must nearly all take the fast path, or it is pointless). Whatever the
fast path declines (ill-formed XML, DOCTYPEs, inline XHTML, guessed encodings …) reaches
feedparser through ``parse_bytes`` as before; hostile bodies fail as they did.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
from feedparser.urls import _urljoin as feedparser_urljoin
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parsing.feed import parse_bytes, parse_fast_only, parse_feedparser_only
from monitor.parsing.feed_fields import absolute_link
from monitor.parsing.normalize import normalize_feed
from monitor.parsing.xml_feed import Declined
from monitor.parsing.xml_text import join_bare
from monitor.types import Article

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeds"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
URL = "https://news.example.org/feeds/world.xml"

RSS20 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>World &amp; more</title><link>https://news.example.org/</link>
  <language>en-GB</language><ttl>30</ttl>
  <atom:link href="https://news.example.org/feeds/world.xml" rel="self"/>
  <image><title>Logo</title><url>https://news.example.org/logo.png</url>
    <link>https://news.example.org/</link></image>
  <item>
    <title><![CDATA[Summit in <b>Anchorage</b> &ndash; talks end]]></title>
    <link>/2025/08/15/summit?utm_source=rss&amp;id=7</link>
    <guid isPermaLink="false">urn:news:7</guid>
    <description>&lt;p&gt;Leaders met &amp;amp; talked.&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>Leaders met for three hours.</p><script>x()</script>]]>
    </content:encoded>
    <pubDate>Fri, 15 Aug 2025 21:30:00 +0300</pubDate>
    <dc:creator>Jane Roe</dc:creator>
    <media:content url="https://news.example.org/a.jpg"><media:title>Photo</media:title>
    </media:content>
  </item>
  <item>
    <guid>https://news.example.org/2025/08/16/ceasefire</guid>
    <title>Ceasefire\u00a0talks \u2013 \u00e9t\u00e9</title>
    <dc:date>2025-08-16T08:00:00Z</dc:date>
    <description>Plain text only</description>
  </item>
  <item><description>An item with only a description, no title at all.</description>
    <link>https://news.example.org/x</link><pubDate>not a date</pubDate></item>
</channel></rss>"""

RSS091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<rss version="0.91"><channel><title>Alt</title><language>de</language>
<item><title>Gr\xfc\xdfe aus M\xfcnchen</title><link>http://example.de/a</link>
<description>\x93Zitat\x94 und mehr</description></item>
</channel></rss>"""

RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
         xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
  <channel rdf:about="https://example.ru/"><title>Новости</title>
    <dc:language>ru</dc:language><sy:updatePeriod>hourly</sy:updatePeriod>
    <sy:updateFrequency>2</sy:updateFrequency></channel>
  <item rdf:about="https://example.ru/1"><title>Путин и Трамп</title>
    <link>https://example.ru/1</link><dc:date>2025-08-15T10:00:00+03:00</dc:date>
    <description>Встреча на Аляске</description></item>
  <item rdf:about="https://example.ru/2"><title>Вторая</title>
    <link>https://example.ru/2</link></item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de-DE">
  <title type="text">heise</title><id>urn:feed</id><updated>2025-08-15T10:00:00Z</updated>
  <entry>
    <title type="html">&lt;em&gt;Neue&lt;/em&gt; Version</title>
    <link rel="alternate" type="text/html" href="https://example.de/a.html"/>
    <link rel="enclosure" href="https://example.de/a.mp3"/>
    <id>tag:example.de,2025:1</id>
    <published>2025-08-15T09:00:00+02:00</published><updated>2025-08-15T11:00:00Z</updated>
    <author><name>Ann</name><email>ann@example.de</email></author>
    <summary>Kurz</summary>
    <content type="html">&lt;p&gt;Lang &amp;amp; ausf\u00fchrlich&lt;/p&gt;</content>
  </entry>
  <entry xml:lang="en">
    <title>Only an id</title><id>https://example.de/b</id>
    <updated>2025-08-14T09:00:00Z</updated>
  </entry>
</feed>"""

GOOGLE_NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Top stories - Google News</title>
  <item>
    <title>Talks end in Anchorage - Example Times</title>
    <link>https://news.google.com/rss/articles/CBMi1?oc=5</link>
    <guid isPermaLink="false">CBMi1</guid>
    <pubDate>Sat, 16 Aug 2025 06:00:00 GMT</pubDate>
    <description>&lt;a href="https://example.com/a"&gt;Talks end&lt;/a&gt;</description>
    <source url="https://www.example.com">Example Times</source>
    <title>Talks end in Anchorage</title>
  </item>
</channel></rss>"""

ATOM_SOURCE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Planet</title><id>urn:planet</id>
  <entry>
    <title>Copied post</title><id>tag:blog.example,2025:7</id>
    <link href="https://blog.example/7"/><updated>2025-08-15T10:00:00Z</updated>
    <author><name>Ann</name></author>
    <source>
      <id>urn:blog</id><title>Ann's blog</title><link href="https://blog.example/"/>
      <updated>2025-08-20T10:00:00Z</updated><author><name>Blog team</name></author>
      <rights>CC BY</rights>
    </source>
    <summary>Kurz</summary>
  </entry>
</feed>"""

OWN_FEEDS = {
    "rss20": RSS20.encode(),
    "rss091-latin1": RSS091,
    "rdf": RDF.encode(),
    "atom": ATOM.encode(),
    "google-news-source": GOOGLE_NEWS.encode(),
    "atom-source": ATOM_SOURCE.encode(),
}


def articles(content: bytes, *, fast: bool, headers: dict[str, str] | None = None) -> list[Article]:
    parse = parse_fast_only if fast else parse_feedparser_only
    parsed = parse(content, url=URL, headers=headers or {})
    return normalize_feed("feed", parsed, language=None, now=NOW)


@pytest.mark.parametrize("name", list(OWN_FEEDS))
def test_each_format_takes_the_fast_path_with_feedparsers_articles(name: str) -> None:
    body = OWN_FEEDS[name]
    fast = articles(body, fast=True)
    assert fast == articles(body, fast=False)
    assert fast and all(a.title for a in fast)
    fast_feed = parse_fast_only(body, url=URL, headers={})
    slow_feed = parse_feedparser_only(body, url=URL, headers={})
    assert fast_feed == slow_feed  # entries, version, title, language, ttl, bozo


def test_what_the_fast_path_reads_from_an_rss_item() -> None:
    first, second, third = articles(OWN_FEEDS["rss20"], fast=True)
    assert first.title == "Summit in Anchorage – talks end"
    assert first.link == "https://news.example.org/2025/08/15/summit?utm_source=rss&id=7"
    assert first.url == "https://news.example.org/2025/08/15/summit?id=7"
    assert first.summary == "Leaders met & talked."
    assert first.content == "Leaders met for three hours."
    assert first.published == datetime(2025, 8, 15, 18, 30, tzinfo=UTC)
    assert (first.guid, first.language) == ("urn:news:7", "en")
    # a permalink GUID stands in for the missing link; dc:date is the date
    assert second.link == "https://news.example.org/2025/08/16/ceasefire"
    assert second.title == "Ceasefire talks – été"
    assert second.published == datetime(2025, 8, 16, 8, 0, tzinfo=UTC)
    assert third.title.startswith("An item with only a description")
    assert third.published is None


def test_an_items_source_stays_out_of_its_fields() -> None:
    (news,) = articles(OWN_FEEDS["google-news-source"], fast=True)
    # feedparser forgets the kept title at <source>: the title after it wins
    assert news.title == "Talks end in Anchorage"
    (copied,) = articles(OWN_FEEDS["atom-source"], fast=True)
    assert (copied.title, copied.link) == ("Copied post", "https://blog.example/7")
    assert copied.published == datetime(2025, 8, 15, 10, tzinfo=UTC)
    assert copied.guid == "tag:blog.example,2025:7"


def test_feed_level_fields_and_other_formats() -> None:
    rss = parse_fast_only(OWN_FEEDS["rss20"], url=URL, headers={})
    assert (rss.version, rss.title, rss.language) == ("rss20", "World & more", "en-GB")
    assert rss.ttl is not None and rss.ttl.total_seconds() == 1800
    rdf = parse_fast_only(OWN_FEEDS["rdf"], url=URL, headers={})
    assert (rdf.version, rdf.language) == ("rss10", "ru")
    assert rdf.ttl is not None and rdf.ttl.total_seconds() == 1800
    assert rdf.entries[0].guid == "https://example.ru/1"
    atom = articles(OWN_FEEDS["atom"], fast=True)
    assert [a.language for a in atom] == ["de", "en"]
    assert atom[0].title == "Neue Version" and atom[0].content == "Lang & ausführlich"
    assert atom[1].link == "https://example.de/b"  # an Atom id stands in for the link
    latin = articles(OWN_FEEDS["rss091-latin1"], fast=True)
    assert latin[0].title == "Grüße aus München"
    assert latin[0].summary == "“Zitat” und mehr"  # windows-1252 quotes, as feedparser


@pytest.mark.parametrize(
    ("why", "body"),
    [
        ("undefined entity", RSS20.replace("Plain text only", "Plain&nbsp;text").encode()),
        ("xml:base", ATOM.replace("<feed ", '<feed xml:base="https://example.de/x/" ').encode()),
        (
            "inline XHTML",
            ATOM.replace(
                "<summary>Kurz</summary>",
                '<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                "<p>Kurz</p></div></summary>",
            ).encode(),
        ),
        ("UTF-16", RSS20.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")),
        ("not well-formed", RSS20.replace("</channel></rss>", "").encode()),
        (
            "a DOCTYPE",
            RSS20.replace("<rss ", '<!DOCTYPE rss [<!ENTITY n "&#160;">]><rss ', 1)
            .replace("Plain text only", "Plain&n;text")
            .encode(),
        ),
    ],
)
def test_what_the_fast_path_declines_feedparser_reads(why: str, body: bytes) -> None:
    with pytest.raises(Declined):
        parse_fast_only(body, url=URL, headers={})
    through = parse_bytes(body, url=URL, headers={})
    assert through == parse_feedparser_only(body, url=URL, headers={})
    assert through.entries


LAUGHS = "".join(
    [f'<!ENTITY a0 "{"lol " * 10}">']
    + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 9)]
)


def _hostile(dtd: str, text: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{dtd}]><rss version="2.0"><channel>'
        f"<title>t</title><item><title>x</title><description>{text}</description></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        _hostile(LAUGHS, "&a8;"),
        _hostile('<!ENTITY ext SYSTEM "file:///etc/passwd">', "&ext;"),
        _hostile('<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;', "x"),
    ],
    ids=["billion-laughs", "external-entity", "external-parameter-entity"],
)
def test_entities_that_could_expand_fail_before_either_parser(body: bytes) -> None:
    with pytest.raises(ParseError, match="could expand it"):
        parse_bytes(body, url=URL, headers={})


def test_huge_text_and_deep_nesting_leave_the_fast_path_for_feedparser() -> None:
    huge = (
        b'<rss version="2.0"><channel><item><title>big</title><description>'
        + b"word " * (3 * 1024 * 1024)
        + b"</description></item></channel></rss>"
    )
    deep = (
        b'<rss version="2.0"><channel><item><title>deep</title><foo>'
        + b"<x>" * 5000
        + b"</x>" * 5000
        + b"</foo></item></channel></rss>"
    )
    for body in (huge, deep):
        with pytest.raises(Declined):
            parse_fast_only(body, url=URL, headers={})
        assert parse_bytes(body, url=URL, headers={}) == parse_feedparser_only(
            body, url=URL, headers={}
        )


def _corpus(folder: str) -> list[Path]:
    root = (SHARED / folder).resolve()
    if not root.exists():
        pytest.skip(f"{root} is absent (the shared data lives beside the checkout)")
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".atom", ".rdf")
    )


def _compare(paths: list[Path]) -> tuple[Counter[str], list[str]]:
    """Both paths over ``paths``: how many took which, and the files that differ."""
    taken: Counter[str] = Counter()
    differ: list[str] = []
    for path in paths:
        body = path.read_bytes()
        try:
            fast = articles(body, fast=True)
        except Declined:
            taken["feedparser (declined)"] += 1
            continue
        except ParseError:
            taken["refused before parsing"] += 1
            continue
        taken["fast"] += 1
        try:
            slow = articles(body, fast=False)
        except ParseError as exc:
            differ.append(f"{path.name}: feedparser fails ({exc})")
            continue
        if fast != slow:
            differ.append(path.name)
    return taken, differ


def _report(capsys: pytest.CaptureFixture[str], what: str, taken: Counter[str]) -> None:
    """How many feeds took each path, on the terminal whatever the capture mode."""
    with capsys.disabled():
        print(f"\n{what}: " + ", ".join(f"{n} {path}" for path, n in sorted(taken.items())))


def test_real_publisher_feeds_take_the_fast_path_with_the_same_articles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = _corpus("publishers") + _corpus("third_party_regenerated")
    taken, differ = _compare(paths)
    _report(capsys, "publisher feeds", taken)
    assert differ == []
    # The three left to feedparser are broken: a fragment with an unknown root, a body
    # cut off by a server error, Latin-1 bytes that declare no encoding.
    assert taken["fast"] >= len(paths) - 3, taken


def test_feedparsers_corpus_gives_the_same_articles_on_both_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    taken, differ = _compare(_corpus("feedparser_tests") + _corpus("parser_edge_cases"))
    _report(capsys, "feedparser's corpus", taken)
    assert differ == []
    assert taken["fast"] >= 753, taken  # 687 before entries' <source> were read


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda s, slashes, rest: f"{s}:{'/' * slashes}{rest}",
            st.sampled_from(["http", "https", "HTTP", "svn+ssh", "a,b", "1x", ""]),
            st.integers(0, 5),
            st.text(max_size=20),
        ),
    )
)
def test_a_uri_joined_to_no_base_is_feedparsers(uri: str) -> None:
    assert join_bare(uri) == feedparser_urljoin("", uri)


_URL_CHARS = st.text(st.characters(min_codepoint=0x09, max_codepoint=0x7F), max_size=12) | st.text(
    max_size=6
)


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from([URL, "http://example.org/a/b", "ftp://x/y", "", "https://[::1]/x"]),
    st.builds(
        lambda scheme, host, parts: f"{scheme}{host}{''.join(parts)}",
        st.sampled_from(["https://", "http://", "HTTP://", "https:", "//", ""]),
        st.from_regex(r"[a-z0-9.\-]{0,8}(:[0-9a-z]{0,3})?", fullmatch=True) | _URL_CHARS,
        st.lists(
            st.sampled_from(["/", "?", "#", ";", "..", ".", "a", "%20", " ", "\t", "é", "["])
            | _URL_CHARS,
            max_size=6,
        ),
    ),
)
def test_links_are_joined_as_urljoin_joins_them(base: str, link: str) -> None:
    try:
        expected = urljoin(base, link.strip()) if base else link
    except ValueError:
        expected = link
    assert absolute_link(link, base) == expected
