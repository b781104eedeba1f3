"""The console over real HTTP on 127.0.0.1: every page and feed, hostile strings, bad
parameters, the guard (methods, token, headers)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from tests.support.feedgen import Item, rss
from tests.web.conftest import STORY_URL, Scenario, _serve


def get(url: str, **kwargs: object) -> httpx.Response:
    return httpx.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]


def _no_live_markup(html: str) -> None:
    """Nothing a feed said became markup: no script element, no event handler."""
    assert "<script" not in html.lower()
    assert not re.search(r"<[^>]+\son\w+\s*=", html, re.IGNORECASE)
    assert 'href="javascript:' not in html.lower()


def test_stories_page_lists_outlets_in_order_with_first_reporter(
    console_url: str, scenario: Scenario
) -> None:
    response = get(console_url + "/")
    assert response.status_code == 200
    html = response.text
    # The story's two outlets, wire-a first (it published an hour before paper-b, whichever
    # of the two was polled first and raised the alert).
    block = html[html.index(f'href="/stories/{scenario.story_id}"') :]
    block = block[: block.index("</article>")]
    assert block.index("wire-a") < block.index("paper-b")
    assert re.search(r'class="first">\s*<span class="outlet">wire-a', block)
    assert "first reporter" in block
    # The evidence snippet with the hit terms marked, and the rule that fired.
    assert "<mark>Anchorage</mark>" in block or "<mark>Trump</mark>" in block
    assert "all of: Trump | Трамп" in block


def test_hostile_strings_are_escaped_everywhere(console_url: str, scenario: Scenario) -> None:
    pages = [
        "/",
        f"/stories/{scenario.hostile_id}",
        f"/stories/{scenario.story_id}",
        "/topics/trump-putin-summit",
        "/feeds",
    ]
    for path in pages:
        response = get(console_url + path)
        assert response.status_code == 200, path
        _no_live_markup(response.text)
        assert len(response.content) < 400_000, path  # a 100 KB string is clipped
    story = get(console_url + f"/stories/{scenario.hostile_id}").text
    assert "&lt;script&gt;document.title = &#39;PWNED&#39;" in story
    # The javascript: link is shown as text, never as a link.
    assert "javascript:" not in story.lower() or 'href="javascript' not in story.lower()


def test_story_page_has_articles_per_outlet_links_and_delivery(
    console_url: str, scenario: Scenario
) -> None:
    html = get(console_url + f"/stories/{scenario.story_id}").text
    assert html.count('class="article"') == 2
    assert f'href="{STORY_URL}" rel="noopener noreferrer nofollow"' in html
    assert "alert log" in html and "delivered" in html


def test_unknown_story_is_404(console_url: str) -> None:
    assert get(console_url + "/stories/nope").status_code == 404
    assert get(console_url + "/stories/" + "a" * 5000).status_code == 404


def test_topic_page_has_a_chart_with_one_series_per_outlet(
    console_url: str, scenario: Scenario
) -> None:
    html = get(console_url + "/topics/trump-putin-summit?since=2d").text
    series = re.findall(r'<g class="series" data-outlet="([^"]+)"', html)
    assert sorted(series) == ["hostile-c", "paper-b", "wire-a"]
    assert "<svg" in html and "<rect" in html
    assert "all of: Trump | Трамп" in html  # the rules as configured
    assert get(console_url + "/topics/no-such-topic").status_code == 404


def test_feeds_page_sorts_failing_first(console_url: str, scenario: Scenario) -> None:
    html = get(console_url + "/feeds").text
    for name in ("wire-a", "paper-b", "hostile-c"):
        assert name in html
    by_name = get(console_url + "/feeds?sort=name").text
    assert by_name.index("hostile-c") < by_name.index("paper-b") < by_name.index("wire-a")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/?since=yesterday", "since"),
        ("/?since=99999999999d", "since"),
        ("/?limit=0", "limit"),
        ("/?before=-1", "before"),
        ("/?topic=%3Cscript%3E", "topic"),
        ("/?bogus=1", "unknown parameter"),
        ("/?feed=" + "x" * 5000, "at most 200"),
        ("/topics/trump-putin-summit?unit=week", "unit"),
        ("/topics/trump-putin-summit?since=400d", "366 days"),
        ("/feeds?sort=%3Cimg%3E", "sort"),
        ("/alerts.atom?since=soon", "since"),
        ("/alerts.json?topic=a%20b", "topic"),
    ],
)
def test_bad_parameters_are_400_with_a_message(console_url: str, path: str, message: str) -> None:
    response = get(console_url + path)
    assert response.status_code == 400
    assert message in response.text
    assert "Traceback" not in response.text
    _no_live_markup(response.text)


def test_atom_feed_parses_without_bozo(console_url: str, scenario: Scenario) -> None:
    response = get(console_url + "/alerts.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == len(scenario.alerts)
    story = next(e for e in parsed.entries if scenario.story_id in e.id)
    hrefs = {link["rel"]: link["href"] for link in story.links}
    assert hrefs["alternate"] == STORY_URL
    assert hrefs["related"].endswith(f"/stories/{scenario.story_id}")
    hostile = next(e for e in parsed.entries if scenario.hostile_id in e.id)
    assert "javascript" not in json.dumps(hostile.links)
    filtered = feedparser.parse(get(console_url + "/alerts.atom?topic=peace-council").content)
    assert not filtered.bozo and filtered.entries == []


def test_json_feed_has_the_required_fields(console_url: str, scenario: Scenario) -> None:
    response = get(console_url + "/alerts.json?since=1d")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/feed+json")
    doc = response.json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["items"], list) and len(doc["items"]) == len(scenario.alerts)
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_text") or item.get("content_html")
        assert item["url"].startswith(console_url + "/stories/")
        datetime.fromisoformat(item["date_modified"].replace("Z", "+00:00")).astimezone(UTC)
        assert not str(item.get("external_url", "")).startswith("javascript")
    story = next(i for i in doc["items"] if scenario.story_id in i["id"])
    assert story["external_url"] == STORY_URL
    future = get(console_url + "/alerts.json?since=2099-01-01T00:00Z").json()
    assert future["items"] == []


def test_security_headers_and_methods(console_url: str) -> None:
    response = get(console_url + "/")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["server"].startswith("monitor/")
    css = get(console_url + "/static/console.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = httpx.request(method, console_url + "/", timeout=10)
        assert refused.status_code == 405
    head = httpx.head(console_url + "/feeds", timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_token_is_required_when_configured(token_console_url: str) -> None:
    assert get(token_console_url + "/").status_code == 401
    assert get(token_console_url + "/alerts.atom").status_code == 401
    wrong = {"Authorization": "Bearer s3cret-token-0123456788"}
    assert get(token_console_url + "/", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret-token-0123456789"}
    assert get(token_console_url + "/", headers=right).status_code == 200
    assert get(token_console_url + "/alerts.json", headers=right).status_code == 200


def test_the_first_reporter_is_the_alerts_even_beside_a_feed_that_never_joined(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    database_url: str,
) -> None:
    """A feed whose article has the story's URL but does not match its topic never
    joined the story; its article, dated hours before, is stored and shown with the
    story, but the first reporter the pages mark is the one the alert names in
    ``first_reported_by`` (it was the feed that never joined, by its article's date)."""
    now = datetime.now(UTC).replace(microsecond=0)
    items = {
        "wire-a": Item(
            title="Trump and Putin meet for summit in Anchorage",
            link=STORY_URL,
            description="Trump and Putin held a summit in Anchorage, Alaska.",
            published=now - timedelta(hours=1),
        ),
        "blog-d": Item(
            title="Weather in Alaska this weekend",
            link=STORY_URL,
            description="Rain and wind along the coast.",
            published=now - timedelta(hours=5),
        ),
    }
    feeds = []
    for name, item in items.items():
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            rss([item]), content_type="application/rss+xml"
        )
        feeds.append({"name": name, "url": httpserver.url_for(f"/{name}.xml")})
    config = write_config(feeds=feeds, max_age="30d")
    assert cli("poll", "-c", str(config)).exit_code == 0
    listed = cli("alerts", "-c", str(config), "--json")
    [alert] = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    assert alert["first_reported_by"] == "wire-a" and alert["feeds"] == ["wire-a"]
    scenario = Scenario(config, database_url, alert["id"], "", [alert])

    for console_url in _serve(scenario, token=None):
        story = get(console_url + f"/stories/{alert['id']}").text
        listed_html = get(console_url + "/").text
        topic = get(console_url + f"/topics/{alert['topic']}").text
    assert "blog-d" in story  # its article is shown with the story
    for html in (story, listed_html, topic):
        firsts = re.findall(r'class="first">\s*<span class="outlet"[^>]*>([^<]+)<', html)
        assert firsts == ["wire-a"], firsts
