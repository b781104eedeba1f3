"""Several workers on one PostgreSQL database agree on signals: one confirmed alert,
one surge alert, when they store the outlets of one story at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from monitor import storage
from monitor.service.app import App
from tests.signals.conftest import SUMMIT, Newsroom, step

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database: str) -> str:
    return pg_database


def together(*polls: tuple[App, str]) -> None:
    """Each worker polls its feed, all released at once."""
    start = threading.Barrier(len(polls))

    def run(app: App, feed: str) -> None:
        start.wait()
        app.poll(names=[feed])

    threads = [threading.Thread(target=run, args=p) for p in polls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_workers_agree_on_one_confirmed_alert(newsroom: Newsroom, signals_app: Any) -> None:
    topic = SUMMIT | {"confirm": {"outlets": 2, "within": "30m"}}
    feeds = ["reuters", "meduza", "dw"]
    workers = [signals_app(feeds, topic) for _ in range(3)]
    places = ["Anchorage", "Budapest", "Moscow", "Helsinki", "Geneva"]
    for round_, place in enumerate(places):  # a race is not won every time: several
        for n, feed in enumerate(feeds):
            newsroom.carry(feed, f"Trump and Putin agree to meet in {place}", f"{round_}-{n}")
        together(*zip(workers, feeds, strict=True))
        step(newsroom, hours=1)
    listed = [a for _, a in storage.list_alerts(workers[0].engine)]
    assert len(listed) == len(places), [a.title for a in listed]
    assert all(len(a.confirmed_by) >= 2 for a in listed)


def test_workers_agree_on_one_surge_alert(newsroom: Newsroom, signals_app: Any) -> None:
    topic = SUMMIT | {"surge": {"factor": 5, "window": "1h", "min": 3}}
    feeds = ["reuters", "meduza", "dw"]
    workers = [signals_app(feeds, topic) for _ in range(3)]
    stories = ["Trump meets Putin", "Putin praises Trump", "Trump and Putin shake hands"]
    for feed in feeds:
        for n, title in enumerate(stories):
            newsroom.carry(feed, f"{title} ({feed})", f"{feed}-{n}")
    together(*zip(workers, feeds, strict=True))
    surges = [a for _, a in storage.list_alerts(workers[0].engine) if a.kind == "surge"]
    assert len(surges) == 1
