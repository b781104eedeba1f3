"""`monitor feeds` as an operator reads it (issue 11): why the next poll is when it is,
a feed's hints honoured only when asked, a moved feed, a gone feed brought back, and a
terminal table of one line per feed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from monitor.render import print_feeds_table, relative
from monitor.storage import FeedStatus
from monitor.types import FeedSpec, FeedState
from tests.support.feedgen import OTHER_EN, Item, rss


def rows(cli, config) -> dict[str, dict]:
    result = cli("feeds", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    return {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}


def test_the_interval_is_a_promise_unless_the_operator_lets_hints_lengthen_it(
    httpserver, write_config, cli
):
    body = rss([OTHER_EN], ttl=90)  # tagesschau's 90-minute <ttl>
    for path in ("/plain.xml", "/hinted.xml"):
        httpserver.expect_request(path).respond_with_data(
            body, content_type="application/rss+xml", headers={"Cache-Control": "max-age=7200"}
        )
    httpserver.expect_request("/busy.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"}
    )
    config = write_config(
        feeds=[
            {"name": "plain", "url": httpserver.url_for("/plain.xml"), "interval": "10m"},
            {
                "name": "hinted",
                "url": httpserver.url_for("/hinted.xml"),
                "interval": "10m",
                "respect_cache_hints": True,
            },
            {"name": "busy", "url": httpserver.url_for("/busy.xml"), "interval": "10m"},
        ]
    )
    before = datetime.now(UTC)
    assert cli("poll", "-c", str(config)).exit_code == 0

    found = rows(cli, config)

    def wait(name: str) -> timedelta:
        return datetime.fromisoformat(found[name]["next_poll"].replace("Z", "+00:00")) - before

    assert found["plain"]["next_poll_reason"] == "interval"
    assert timedelta(minutes=8) < wait("plain") < timedelta(minutes=12)
    assert found["hinted"]["next_poll_reason"] == "cache-hint"
    assert timedelta(minutes=59) < wait("hinted") < timedelta(minutes=62)  # max_hint_delay
    assert found["busy"]["next_poll_reason"] == "retry-after"
    assert timedelta(minutes=59) < wait("busy") < timedelta(minutes=62)
    assert found["busy"]["failing_since"] is not None


def test_a_moved_feed_shows_where_it_went_and_a_gone_feed_can_be_brought_back(
    httpserver, write_config, cli
):
    new = httpserver.url_for("/new.xml")
    httpserver.expect_request("/old.xml").respond_with_data(
        "", status=301, headers={"Location": new}
    )
    httpserver.expect_request("/new.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    httpserver.expect_request("/gone.xml").respond_with_data("removed", status=410)
    config = write_config(
        feeds=[
            {"name": "moved", "url": httpserver.url_for("/old.xml")},
            {"name": "gone", "url": httpserver.url_for("/gone.xml")},
        ]
    )
    assert cli("poll", "-c", str(config)).exit_code == 0

    found = rows(cli, config)
    assert found["moved"]["moved_to"] == new and found["moved"]["status"] == "ok"
    assert found["gone"]["status"] == "gone" and found["gone"]["next_poll_reason"] == "gone"

    reset = cli("feeds", "-c", str(config), "--reset", "gone", "--json")
    assert reset.exit_code == 0 and "reset gone" in reset.stderr
    after = {r["name"]: r for r in map(json.loads, reset.stdout.splitlines())}
    assert after["gone"]["status"] == "new" and after["gone"]["errors"] == 0
    assert after["gone"]["next_poll"] is not None
    assert cli("feeds", "-c", str(config), "--reset", "nosuch").exit_code == 2


def test_poll_says_why_matches_raised_no_alert(httpserver, write_config, cli):
    old = Item(
        title="Trump and Putin meet for summit in Anchorage",
        link="https://news.example.org/old-summit",
        published=datetime.now(UTC) - timedelta(days=30),
    )
    httpserver.expect_request("/f.xml").respond_with_data(
        rss([old]), content_type="application/rss+xml"
    )
    config = write_config(feeds=[{"name": "wire", "url": httpserver.url_for("/f.xml")}])

    result = cli("poll", "-c", str(config))

    assert "1 matched, 0 alerts: 1 older than max_age" in result.stdout, result.stdout


def test_the_terminal_table_is_one_line_per_feed_at_100_columns() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    statuses = [
        FeedStatus(
            spec=FeedSpec(
                name=f"a-very-long-feed-name-number-{n}", url="https://x.example/" + "p" * 200
            ),
            state=FeedState(
                name=f"feed{n}",
                status="error",
                errors=4,
                last_error="connect: could not connect to the host: " + "reason " * 40,
                last_success=now - timedelta(hours=3),
                next_poll=now + timedelta(minutes=4),
                next_poll_reason="backoff",
            ),
            articles=12345,
        )
        for n in range(5)
    ]
    out = io.StringIO()

    print_feeds_table(statuses, out, color=False, now=now, width=100)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + len(statuses)
    assert all(len(line) <= 100 for line in lines), lines
    assert "in 4 min" in lines[1] and "3 h ago" in lines[1] and "backoff after 4 errors" in lines[1]


def test_relative_times() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert relative(now + timedelta(seconds=10), now) == "now"
    assert relative(now + timedelta(minutes=4), now) == "in 4 min"
    assert relative(now - timedelta(hours=3), now) == "3 h ago"
    assert relative(now - timedelta(days=3), now) == "3 d ago"
    assert relative(None, now) == "-"
