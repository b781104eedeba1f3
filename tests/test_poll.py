"""`monitor poll` end to end: real HTTP server on 127.0.0.1, real SQLite file, alert log."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from pytest_httpserver import HTTPServer

from monitor import storage
from tests.conftest import shared_path
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The whole poll path runs on both databases (PostgreSQL skips when none is running)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


def serve(
    httpserver: HTTPServer,
    path: str,
    body: bytes,
    status: int = 200,
    content_type: str = "application/rss+xml",
) -> str:
    httpserver.expect_request(path).respond_with_data(
        body, status=status, content_type=content_type
    )
    return httpserver.url_for(path)


def test_poll_stores_matches_and_writes_alert_log(httpserver, write_config, cli, alert_log):
    url = serve(httpserver, "/world.xml", rss([SUMMIT_EN, PEACE_EN, OTHER_EN]))
    config = write_config(feeds=[{"name": "wire", "url": url, "language": "en"}])

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.stdout
    assert "wire: ok" in result.stdout
    assert "3 new" in result.stdout
    lines = alert_log()
    assert {line["topic"] for line in lines} == {"trump-putin-summit", "peace-council"}
    summit = next(line for line in lines if line["topic"] == "trump-putin-summit")
    assert summit["title"] == SUMMIT_EN.title
    # Canonical URL: tracking parameters removed.
    assert summit["url"] == "https://news.example.org/world/trump-putin-anchorage"
    assert summit["feed"] == "wire"
    assert summit["published"].endswith("Z") and summit["detected_at"].endswith("Z")
    assert summit["evidence"] and {"term", "field", "snippet"} <= set(summit["evidence"][0])

    stored = cli("alerts", "-c", str(config), "--json")
    assert stored.exit_code == 0
    assert [json.loads(x)["id"] for x in stored.stdout.splitlines()] == [x["id"] for x in lines]


def test_second_poll_of_unchanged_feed_adds_nothing(httpserver, write_config, cli, alert_log):
    url = serve(httpserver, "/world.xml", rss([SUMMIT_EN, OTHER_EN]))
    config = write_config(feeds=[{"name": "wire", "url": url}])
    assert cli("poll", "-c", str(config)).exit_code == 0
    first = alert_log()

    again = cli("poll", "-c", str(config))

    assert again.exit_code == 0
    assert "0 new" in again.stdout and "0 alerts" in again.stdout.splitlines()[-1]
    assert alert_log() == first


def test_changed_feed_with_one_new_item_alerts_once_more(httpserver, write_config, cli, alert_log):
    httpserver.expect_ordered_request("/f.xml").respond_with_data(rss([OTHER_EN]))
    httpserver.expect_ordered_request("/f.xml").respond_with_data(rss([OTHER_EN, SUMMIT_EN]))
    config = write_config(feeds=[{"name": "wire", "url": httpserver.url_for("/f.xml")}])
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert alert_log() == []

    result = cli("poll", "-c", str(config))

    assert "1 new" in result.stdout
    assert [a["topic"] for a in alert_log()] == ["trump-putin-summit"]


def test_same_article_in_two_feeds_raises_one_alert(httpserver, write_config, cli, alert_log):
    a = serve(httpserver, "/a.xml", rss([SUMMIT_EN], title="A"))
    b = serve(httpserver, "/b.xml", rss([SUMMIT_EN], title="B"))
    config = write_config(feeds=[{"name": "a", "url": a}, {"name": "b", "url": b}])

    result = cli("poll", "-c", str(config))
    assert result.exit_code == 0

    alerts = [x for x in alert_log() if x["topic"] == "trump-putin-summit"]
    assert len(alerts) == 1
    stored = [
        json.loads(x) for x in cli("alerts", "-c", str(config), "--json").stdout.split("\n") if x
    ]
    assert sorted(stored[0]["feeds"]) == ["a", "b"]
    # The log says why the second feed raised nothing: its match joined the story.
    polled = [json.loads(line) for line in result.stderr.splitlines() if "feed_polled" in line]
    assert sorted((p["alerts"], p["linked"]) for p in polled) == [(0, 1), (1, 0)]
    assert "1 matched, 1 alert" in result.stdout
    assert "1 matched, 0 alerts: 1 joined a story already alerted" in result.stdout


def test_stories_that_share_a_front_page_link_alert_each(httpserver, write_config, cli, alert_log):
    """A feed whose items all link to the site's front page (Meduza's regenerated feeds):
    the link is no story's identity, so a preview and an outcome alert twice."""
    items = [
        Item(
            title="Trump and Putin to hold summit in Anchorage on Friday",
            link="https://news.example.org/",
            guid="a1",
        ),
        Item(
            title="Putin says Anchorage summit with Trump was productive",
            link="https://news.example.org/",
            guid="a2",
        ),
    ]
    config = write_config(
        feeds=[{"name": "front", "url": serve(httpserver, "/front.xml", rss(items))}]
    )

    assert cli("poll", "-c", str(config)).exit_code == 0

    summit = [a for a in alert_log() if a["topic"] == "trump-putin-summit"]
    assert sorted(a["title"] for a in summit) == sorted(i.title for i in items)
    assert {a["url"] for a in summit} == {"https://news.example.org/"}


def test_broken_feed_does_not_stop_the_others(httpserver, write_config, cli, alert_log):
    good = serve(httpserver, "/good.xml", rss([SUMMIT_EN]))
    html = serve(
        httpserver, "/html", b"<html><body><h1>Welcome</h1></body></html>", content_type="text/html"
    )
    missing = httpserver.url_for("/missing.xml")
    httpserver.expect_request("/missing.xml").respond_with_data("nope", status=404)
    config = write_config(
        feeds=[
            {"name": "good", "url": good},
            {"name": "html", "url": html},
            {"name": "missing", "url": missing},
        ]
    )

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.stdout
    assert len(alert_log()) == 1
    feeds = {
        f["name"]: f
        for f in map(json.loads, cli("feeds", "-c", str(config), "--json").stdout.splitlines())
    }
    assert feeds["good"]["status"] == "ok" and feeds["good"]["articles"] == 1
    assert feeds["html"]["status"] == "error" and "not_a_feed" in feeds["html"]["last_error"]
    assert feeds["missing"]["status"] == "error" and "404" in feeds["missing"]["last_error"]
    assert feeds["missing"]["errors"] == 1 and feeds["missing"]["next_poll"]
    for name in ("html", "missing"):
        assert feeds[name]["articles"] == 0


def refuse_titles_with(url: str, word: str) -> None:
    """A database rule that refuses certain articles, as a stand-in for whatever data a
    database may refuse (a value too long for a column, a constraint)."""
    engine = storage.open_database(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title LIKE "
                f"'%{word}%' BEGIN SELECT RAISE(ABORT, 'refused title'); END"
            )
        else:
            conn.exec_driver_sql(
                f"ALTER TABLE articles ADD CONSTRAINT refuse CHECK (title NOT LIKE '%%{word}%%')"
            )
    engine.dispose()


def test_data_the_database_refuses_fails_that_feed_alone(
    httpserver, write_config, cli, alert_log, database_url
):
    """Not an outage: the other feeds are stored and alerted, the refused feed is marked
    failing with the reason (and retried later), and the poll carries on."""
    good = serve(httpserver, "/good.xml", rss([SUMMIT_EN]))
    bad = serve(
        httpserver,
        "/bad.xml",
        rss([Item(title="Poisoned headline", link="https://news.example.org/p")]),
    )
    config = write_config(feeds=[{"name": "bad", "url": bad}, {"name": "good", "url": good}])
    refuse_titles_with(database_url, "Poisoned")

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert [a["title"] for a in alert_log()] == [SUMMIT_EN.title]
    feeds = {
        f["name"]: f
        for f in map(json.loads, cli("feeds", "-c", str(config), "--json").stdout.splitlines())
    }
    assert feeds["good"]["status"] == "ok" and feeds["good"]["articles"] == 1
    assert feeds["bad"]["status"] == "error" and feeds["bad"]["articles"] == 0
    assert feeds["bad"]["last_error"].startswith("store_refused: the database refused")
    assert feeds["bad"]["errors"] == 1 and feeds["bad"]["next_poll"]


def test_poll_only_one_feed(httpserver, write_config, cli):
    a = serve(httpserver, "/a.xml", rss([OTHER_EN]))
    b = serve(httpserver, "/b.xml", rss([OTHER_EN]))
    config = write_config(feeds=[{"name": "a", "url": a}, {"name": "b", "url": b}])

    result = cli("poll", "-c", str(config), "--feed", "b")

    assert result.exit_code == 0
    assert "b: ok" in result.stdout and "a: ok" not in result.stdout
    assert cli("poll", "-c", str(config), "--feed", "nope").exit_code == 2


def test_catch_up_marks_current_items_seen_without_alerting(
    httpserver, write_config, cli, alert_log
):
    url = serve(httpserver, "/f.xml", rss([SUMMIT_EN]))
    config = write_config(feeds=[{"name": "wire", "url": url}])

    result = cli("poll", "-c", str(config), "--catch-up")

    assert result.exit_code == 0 and "catch-up" in result.stdout
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert alert_log() == []


def test_old_articles_are_stored_but_raise_no_alert(httpserver, write_config, cli, alert_log):
    from datetime import UTC, datetime

    old = Item(
        SUMMIT_EN.title,
        SUMMIT_EN.link,
        SUMMIT_EN.description,
        published=datetime(2025, 8, 15, 18, 0, tzinfo=UTC),
    )
    url = serve(httpserver, "/f.xml", rss([old]))
    config = write_config(feeds=[{"name": "wire", "url": url}])

    result = cli("poll", "-c", str(config))

    assert "1 new, 1 matched, 0 alerts" in result.stdout
    assert alert_log() == []


def test_seed_article_raises_both_default_topics(httpserver, write_config, cli, alert_log):
    text = shared_path("data", "seed_article_de.txt").read_text("utf-8")
    title, _, body = text.strip().partition("\n")
    item = Item(
        title=title.strip(),
        link="https://www.example.org/de/politik/russland-friedensrat",
        description=body.strip(),
    )
    url = serve(httpserver, "/de.xml", rss([item], language="de"))
    config = write_config(feeds=[{"name": "de", "url": url, "language": "de"}])

    assert cli("poll", "-c", str(config)).exit_code == 0

    assert {a["topic"] for a in alert_log()} == {"trump-putin-summit", "peace-council"}


def _publisher_feeds() -> list[Path]:
    folder = Path(__file__).resolve().parents[2] / "shared" / "feeds" / "publishers"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.skipif(not _publisher_feeds(), reason="../shared/feeds/publishers is absent")
def test_every_publisher_feed_is_stored_with_its_items(httpserver, write_config, cli):
    files = _publisher_feeds()
    feeds = []
    for index, path in enumerate(files):
        feeds.append(
            {
                "name": f"p{index}",
                "url": serve(
                    httpserver, f"/{path.name}", path.read_bytes(), content_type="application/xml"
                ),
                # real publishers' links: their pages are on the internet, never read here
                "fulltext": "never",
            }
        )
    config = write_config(feeds=feeds)

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.stdout
    status = {
        f["name"]: f
        for f in map(json.loads, cli("feeds", "-c", str(config), "--json").stdout.splitlines())
    }
    for index, path in enumerate(files):
        entries = feedparser.parse(path.read_bytes()).entries
        # An item repeated verbatim (lenta.ru lists two twice) is one article.
        expected = len({(e.get("id"), e.get("link"), e.get("title")) for e in entries})
        got = status[f"p{index}"]
        if path.name == "reuters_2_truncated.xml":
            assert got["status"] == "error" and got["last_error"], got
            assert got["articles"] == 0
            continue
        assert got["status"] == "ok", (path.name, got)
        assert got["articles"] == min(expected, 500), (path.name, got, expected)


# feedparser's author e-mail expression is quadratic: this field alone takes well over
# ten seconds to parse (tests/parsing/test_parse.py); the entity sends it to feedparser.
SLOW_TO_PARSE = (
    b'<rss version="2.0"><channel><item><title>x&nbsp;</title><author>a@'
    + b"a-" * 40000
    + b"</author></item></channel></rss>"
)


def test_the_parse_timeout_is_the_configured_one(httpserver, write_config, cli):
    slow = serve(httpserver, "/slow.xml", SLOW_TO_PARSE)
    good = serve(httpserver, "/good.xml", rss([SUMMIT_EN]))
    config = write_config(
        feeds=[{"name": "slow", "url": slow}, {"name": "good", "url": good}],
        parse_timeout="2s",
    )

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.stdout
    feeds = {
        f["name"]: f
        for f in map(json.loads, cli("feeds", "-c", str(config), "--json").stdout.splitlines())
    }
    assert feeds["good"]["status"] == "ok"
    assert feeds["slow"]["status"] == "error"
    assert feeds["slow"]["last_error"].startswith("parse_timeout: parsing took longer than 2s")
