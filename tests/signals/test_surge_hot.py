"""Surges and hot polling on a stepped clock with local feeds (issue 17, points 3, 4)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from monitor import storage
from monitor.service.app import App
from tests.signals.conftest import SUMMIT, Newsroom, step

STORIES = [
    "Trump and Putin to meet in Anchorage",
    "Putin lands in Alaska for talks with Trump",
    "Trump greets Putin on the tarmac",
    "Trump says talks with Putin were productive",
    "Putin invites Trump to Moscow",
    "Trump and Putin hold joint press conference",
    "Zelensky reacts to Trump Putin meeting",
    "Europe watches Trump Putin summit closely",
]


def surges(app: App) -> list[dict[str, Any]]:
    return [a.to_json() for _, a in storage.list_alerts(app.engine) if a.kind == "surge"]


def test_a_surge_raises_once_and_re_arms_after_a_calm_window(
    newsroom: Newsroom, signals_app: Any
) -> None:
    topic = SUMMIT | {"surge": {"factor": 5, "window": "1h", "min": 3}}
    app = signals_app(["reuters"], topic)
    stories = iter(STORIES)

    def publish(n: int) -> None:
        for _ in range(n):
            newsroom.carry("reuters", next(stories), f"s{len(newsroom.items['reuters'])}")
        app.poll()

    publish(2)
    assert surges(app) == [], "below min"
    step(newsroom, minutes=10)
    publish(1)
    (surge,) = surges(app)
    assert surge["topic"] == "summit" and "3 matches in 1h" in surge["title"]
    step(newsroom, minutes=10)
    publish(1)
    assert len(surges(app)) == 1, "one surge, one alert"

    # Calm for over a window, then a new burst: a second surge alert.
    step(newsroom, hours=2)
    publish(1)
    assert len(surges(app)) == 1
    step(newsroom, minutes=5)
    publish(2)
    assert len(surges(app)) == 2


def test_hot_topic_polls_its_feeds_faster_and_ends_on_time(
    newsroom: Newsroom, signals_app: Any, cli: Any
) -> None:
    topic = SUMMIT | {"hot": {"interval": "1m", "for": "10m"}}
    app = signals_app(["reuters", "dw"], topic, interval="1h")
    start = newsroom.clock
    newsroom.carry("reuters", STORIES[0], "r1")
    app.poll(due_only=True)  # both feeds are due at first
    assert [len(newsroom.fetches[f]) for f in ("reuters", "dw")] == [1, 1]

    feeds = {
        json.loads(line)["name"]: json.loads(line)
        for line in cli("feeds", "-c", str(newsroom.config), "--json").stdout.splitlines()
    }
    assert feeds["reuters"]["next_poll_reason"] == "hot"
    assert feeds["reuters"]["hot"] == {
        "topic": "summit",
        "until": (start + timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
    }
    assert feeds["dw"]["next_poll_reason"] == "interval"
    table = cli("feeds", "-c", str(newsroom.config)).stdout
    until = (start + timedelta(minutes=10)).strftime("%H:%M")
    assert f"hot: summit until {until}" in table

    for _ in range(60):  # 30 minutes in steps of 30 s
        step(newsroom, seconds=30)
        app.poll(due_only=True)
    hot_end = start + timedelta(minutes=10)
    during = [t for t in newsroom.fetches["reuters"] if start < t <= hot_end + timedelta(minutes=1)]
    after = [t for t in newsroom.fetches["reuters"] if t > hot_end + timedelta(minutes=1)]
    assert 8 <= len(during) <= 11, newsroom.fetches["reuters"]
    assert after == [], "the hot spell ended on time"
    assert len(newsroom.fetches["dw"]) == 1, "a feed without the story keeps its interval"
