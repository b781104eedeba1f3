"""An article without a usable date counts as published when first seen (issue 11):
event-window rules and max_age apply to it, and its alert says "published": null."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def _rss(pub_date: str | None) -> bytes:
    date = f"<pubDate>{pub_date}</pubDate>" if pub_date else ""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<link>http://127.0.0.1/</link><description>d</description>"
        "<item><title>Talks in Anchorage begin</title>"
        f"<link>https://news.example.org/anchorage</link>{date}"
        "<description>Delegations arrived in Alaska.</description></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "pub_date", [None, "Thu, 01 Jan 1970 00:00:00 GMT", "not a date"], ids=["none", "1970", "junk"]
)
def test_an_undated_item_matches_a_window_open_today(
    httpserver, write_config, cli, alert_log, pub_date
):
    today = datetime.now(UTC).date()
    topic = {
        "id": "live",
        "name": "Live event",
        "window": {
            "from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat(),
        },
        "all": [["Anchorage"]],
    }
    httpserver.expect_request("/f.xml").respond_with_data(
        _rss(pub_date), content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[{"name": "wire", "url": httpserver.url_for("/f.xml")}], topics=[topic]
    )

    result = cli("poll", "-c", str(config))

    assert result.exit_code == 0, result.output
    [alert] = alert_log()
    assert alert["topic"] == "live" and alert["published"] is None


def test_an_undated_item_stays_out_of_a_window_long_past(httpserver, write_config, cli, alert_log):
    topic = {
        "id": "past",
        "name": "Past event",
        "window": {"from": "2025-08-07", "to": "2025-08-20"},
        "all": [["Anchorage"]],
    }
    httpserver.expect_request("/f.xml").respond_with_data(
        _rss(None), content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[{"name": "wire", "url": httpserver.url_for("/f.xml")}], topics=[topic]
    )

    assert cli("poll", "-c", str(config)).exit_code == 0
    assert alert_log() == []
