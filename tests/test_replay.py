"""`monitor replay`: tune topics against what is stored, safely."""

from __future__ import annotations

import json

import yaml

from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss

BUDGET = Item(
    "Council budget vote postponed again",
    "https://news.example.org/local/budget-vote",
    "The city council postponed its budget vote.",
)


def test_replay_shows_added_and_dropped_then_applies_and_alerts(
    httpserver, write_config, cli, alert_log
):
    httpserver.expect_request("/f.xml").respond_with_data(
        rss([SUMMIT_EN, PEACE_EN, OTHER_EN, BUDGET])
    )
    url = httpserver.url_for("/f.xml")
    config = write_config(feeds=[{"name": "f", "url": url}])
    assert cli("poll", "-c", str(config)).exit_code == 0
    before = alert_log()

    # The operator narrows peace-council and adds a new topic about the city council.
    doc = yaml.safe_load(config.read_text())
    for topic in doc["topics"]:
        if topic["id"] == "peace-council":
            topic.clear()
            topic.update({"id": "peace-council", "any": ["Friedensrat"]})
    doc["topics"].append({"id": "city-council", "all": [["council"], ["budget"]]})
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))

    dry = cli("replay", "-c", str(config), "--json")

    assert dry.exit_code == 0, dry.stdout
    changes = [json.loads(line) for line in dry.stdout.splitlines()]
    assert {(c["change"], c["topic"], c["title"]) for c in changes} == {
        ("added", "city-council", OTHER_EN.title),
        ("added", "city-council", BUDGET.title),
        ("dropped", "peace-council", PEACE_EN.title),
    }
    # A dry run changes nothing: the same diff again.
    assert cli("replay", "-c", str(config), "--json").stdout == dry.stdout

    applied = cli("replay", "-c", str(config), "--apply", "--alert")

    assert applied.exit_code == 0
    assert "2 matches added, 1 dropped, 2 alerts raised" in applied.stdout
    assert cli("replay", "-c", str(config), "--json").stdout == ""
    new = alert_log()[len(before) :]
    assert sorted(a["title"] for a in new) == sorted([OTHER_EN.title, BUDGET.title])
    assert {a["topic"] for a in new} == {"city-council"}


def test_replay_topic_filter_and_bad_usage(httpserver, write_config, cli):
    httpserver.expect_request("/f.xml").respond_with_data(rss([SUMMIT_EN]))
    config = write_config(feeds=[{"name": "f", "url": httpserver.url_for("/f.xml")}])
    assert cli("poll", "-c", str(config), "--catch-up").exit_code == 0

    result = cli("replay", "-c", str(config), "--topic", "peace-council")
    assert result.exit_code == 0 and "0 matches would be added" in result.stdout
    assert cli("replay", "-c", str(config), "--topic", "nope").exit_code == 2
    assert cli("replay", "-c", str(config), "--alert").exit_code == 2


def test_replay_alert_links_a_near_identical_headline_at_another_url(httpserver, write_config, cli):
    """The wire copy and an aggregator's title-cased copy of one story, at two URLs: replay
    raises one alert and lists both feeds on it (it used to compare raw titles, raise two,
    and store a raw title where later polls look for a fingerprint)."""
    wire = Item(
        "Council budget vote postponed again as talks stall",
        "https://wire.example.org/2026/council-budget",
        "The city council postponed its budget vote.",
    )
    copy = Item(
        "Council Budget Vote Postponed Again As Talks Stall - Reuters",
        "https://news.example.com/articles/8812",
        "The city council postponed its budget vote once more.",
    )
    httpserver.expect_request("/wire.xml").respond_with_data(rss([wire]))
    httpserver.expect_request("/agg.xml").respond_with_data(rss([copy]))
    config = write_config(
        feeds=[
            {"name": "wire", "url": httpserver.url_for("/wire.xml")},
            {"name": "agg", "url": httpserver.url_for("/agg.xml")},
        ]
    )
    assert cli("poll", "-c", str(config)).exit_code == 0
    doc = yaml.safe_load(config.read_text())
    doc["topics"].append({"id": "city-council", "all": [["council"], ["budget"]]})
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))

    applied = cli("replay", "-c", str(config), "--apply", "--alert")

    assert applied.exit_code == 0, applied.stdout
    assert "2 matches added, 0 dropped, 1 alerts raised" in applied.stdout
    listed = cli("alerts", "-c", str(config), "--topic", "city-council", "--json")
    [alert] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(alert["feeds"]) == ["agg", "wire"]
