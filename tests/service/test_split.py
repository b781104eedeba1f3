"""`monitor poll` over two processes: a forked child polls the feeds of half the hosts.

Run as real processes (the split forks, so never inside pytest's own process, which has
threads and so never splits) against two loopback servers, 127.0.0.1 and ::1, each a
host of its own, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor import storage
from monitor.service.split import MIN_FEEDS, split_hosts
from monitor.types import FeedSpec
from tests.conftest import run_monitor
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss


def _spec(name: str, url: str) -> FeedSpec:
    return FeedSpec(name=name, url=url)


def test_each_host_goes_whole_to_one_half_and_the_halves_are_even():
    hosts = {"a.example": 5, "B.example": 4, "c.example": 3, "d.example": 2, "e.example": 1}
    specs = [
        _spec(f"{host}-{i}", f"https://{host}/feed/{i}.xml")
        for host, count in hosts.items()
        for i in range(count)
    ]
    specs.append(_spec("b-upper", "https://b.EXAMPLE/other.xml"))  # host names ignore case

    first, second = split_hosts(specs)

    assert sorted(first + second) == sorted(s.name for s in specs)
    assert abs(len(first) - len(second)) <= 1
    for host in hosts:
        assert not (
            any(n.startswith(host) for n in first) and any(n.startswith(host) for n in second)
        ), host
    assert ("b-upper" in first) == ("B.example-0" in first)
    # One host, or none: nothing to split.
    one = [_spec(f"f{i}", f"http://127.0.0.1:80/{i}.xml") for i in range(9)]
    assert sorted(map(len, split_hosts(one))) == [0, 9]


@pytest.fixture
def ipv6_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="::1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


def _items(i: int) -> list[Item]:
    own = Item(f"Local council meets on budget, part {i}", f"https://example.org/n/{i}", "x")
    if i % 17 == 0:
        return [SUMMIT_EN, own]  # the same story in several feeds of both hosts: one alert
    if i % 23 == 0:
        return [PEACE_EN, OTHER_EN, own]
    return [own]


def test_a_poll_of_many_feeds_on_two_hosts_polls_half_of_them_in_a_second_process(
    tmp_path, write_config, httpserver, ipv6_server, database_url
):
    """Past MIN_FEEDS feeds on two hosts, `monitor poll` forks after its start and the child
    polls one host's feeds: each feed is fetched once, reported once and stored with its
    validators, each story raises one alert, no lease is left behind; a re-poll (all 304)
    splits as well and reports the same feeds."""
    count = MIN_FEEDS + 6
    feeds = []
    for i in range(count):
        server = httpserver if i % 2 else ipv6_server
        path = f"/feed/{i}.xml"
        server.expect_request(path, headers={"If-None-Match": f'"v{i}"'}).respond_with_data(
            "", status=304
        )
        server.expect_request(path).respond_with_data(
            rss(_items(i)), content_type="application/rss+xml", headers={"ETag": f'"v{i}"'}
        )
        host = "127.0.0.1" if i % 2 else "[::1]"
        feeds.append({"name": f"feed-{i:03d}", "url": f"http://{host}:{server.port}{path}"})
    config = write_config(feeds=feeds)

    for status in ("ok (HTTP 200)", "not_modified (HTTP 304)"):
        result = run_monitor("poll", "-c", str(config), "--log-level", "debug", cwd=tmp_path)

        assert result.returncode == 0, result.stderr[-3000:]
        lines = [json.loads(line) for line in result.stderr.splitlines()]
        split = [line for line in lines if line["event"] == "pass_split"]
        assert len(split) == 1, [line["event"] for line in lines]
        assert {split[0]["feeds"], split[0]["child_feeds"]} == {count // 2}
        polled = Counter(line["feed"] for line in lines if line["event"] == "feed_polled")
        assert polled == Counter({f["name"]: 1 for f in feeds}), result.stdout
        reported = [line for line in result.stdout.splitlines() if line.startswith("feed-")]
        assert sorted(line.split(":")[0] for line in reported) == [f["name"] for f in feeds]
        assert all(status in line for line in reported), reported
        assert result.stdout.splitlines()[-1].startswith(f"polled {count} feeds:")

    requests = Counter(request.path for request, _ in httpserver.log + ipv6_server.log)
    assert requests == Counter({f"/feed/{i}.xml": 2 for i in range(count)})
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert sorted(a["topic"] for a in alerts) == ["peace-council", "trump-putin-summit"]
    engine = storage.open_database(database_url)
    try:
        for i, feed in enumerate(feeds):
            state = storage.load_feed_state(engine, feed["name"])
            assert state is not None and state.etag == f'"v{i}"', feed["name"]
        with engine.connect() as conn:
            held = conn.exec_driver_sql(
                "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL"
            ).scalar()
        assert held == 0
    finally:
        engine.dispose()


def test_a_poll_of_few_feeds_or_one_host_stays_in_one_process(
    tmp_path, write_config, httpserver, ipv6_server
):
    few = []
    for i in range(4):
        server = httpserver if i % 2 else ipv6_server
        server.expect_request(f"/{i}.xml").respond_with_data(rss([]), content_type="text/xml")
        host = "127.0.0.1" if i % 2 else "[::1]"
        few.append({"name": f"f{i}", "url": f"http://{host}:{server.port}/{i}.xml"})
    one_host = []
    for i in range(MIN_FEEDS + 2):
        httpserver.expect_request(f"/g{i}.xml").respond_with_data(rss([]), content_type="text/xml")
        one_host.append({"name": f"g{i}", "url": httpserver.url_for(f"/g{i}.xml")})
    for feeds in (few, one_host):
        config = write_config(feeds=feeds)
        result = run_monitor("poll", "-c", str(config), "--log-level", "debug", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert '"pass_split"' not in result.stderr
        assert result.stdout.splitlines()[-1].startswith(f"polled {len(feeds)} feeds:")
