"""Several `monitor run` workers on one PostgreSQL, and the database going away.

The soak test runs three real worker processes against 300 feeds on 127.0.0.1 and
a webhook receiver, kills one worker and restarts PostgreSQL on the way; the fast
tests cut the database off through a TCP proxy (a network cut on loopback) under a
daemon in this process and under a `monitor run` that starts before its database.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from monitor import storage
from monitor.config.load import load_config
from monitor.metrics import Metrics
from monitor.service.app import build_app
from monitor.service.daemon import Daemon
from monitor.storage.models import AlertRow, ArticleRow
from tests.conftest import REPO, default_topics, read_alert_log
from tests.support.postgres_server import conninfo, fresh_database, pg_url, restart_postgres
from tests.support.receivers import WebhookReceiver
from tests.support.scale_support import FeedFarm, TcpProxy, item_link

__all__ = ["pg_url"]  # the fixture, imported for this module's tests

TOPIC = "trump-putin-summit"


def worker_config(
    path: Path,
    database: str,
    farm: FeedFarm,
    *,
    name: str,
    hook: WebhookReceiver | None = None,
    interval: str = "2s",
    lease: str = "10s",
    threads: int = 4,
) -> Path:
    doc: dict[str, Any] = {
        "database": database,
        "alert_log": str(path.parent / f"alerts-{name}.jsonl"),
        "workers": threads,
        "lease": {"feeds": lease, "deliveries": lease},
        "http": {
            "allow_private_networks": True,
            "listen": False,
            "user_agent": f"monitor-test/{name}",
        },
        "feeds": [
            {"name": f"farm-{n}", "url": farm.url(n), "language": "en", "interval": interval}
            for n in range(farm.count)
        ],
        "topics": default_topics(),
        "notify": [{"webhook": hook.url()}] if hook is not None else [],
        "delivery": {"schedule": ["1s", "2s", "5s"]},
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return path


class Worker:
    """One `monitor run` subprocess with JSON logs in a file."""

    def __init__(self, config: Path, name: str) -> None:
        self.name = name
        self.log_path = config.with_name(f"{name}.log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("wb"),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=config.parent,
        )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if name is None or record.get("event") == name:
                lines.append(record)
        return lines

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(5)


@pytest.fixture
def farm() -> Iterator[FeedFarm]:
    feeds = FeedFarm(300).start()
    yield feeds
    feeds.stop()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def alert_links(url: str) -> Counter[str]:
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute("SELECT url FROM alerts WHERE topic = %s", (TOPIC,)).fetchall()
    return Counter(r[0] for r in rows)


@pytest.mark.slow
@pytest.mark.restarts_postgres
@pytest.mark.timeout(150)
def test_three_workers_share_300_feeds_through_a_kill_and_a_database_restart(
    pg_url, farm, hook, tmp_path
):
    with fresh_database(pg_url) as url:
        storage.open_database(url).dispose()  # migrate once, before the workers race
        workers = [
            Worker(
                worker_config(tmp_path / f"w{i}.yaml", url, farm, name=f"w{i}", hook=hook), f"w{i}"
            )
            for i in range(3)
        ]
        try:
            for w in workers:
                wait_until(lambda w=w: bool(w.events("daemon_started")), 40, f"{w.name} to start")
            _soak(url, farm, hook, workers)
        finally:
            codes = [w.stop() for w in workers]
        assert codes[1:] == [0, 0], [w.log_path.read_text()[-2000:] for w in workers[1:]]


def _stopped_holding_leases(proc: Any, url: str, pid: int) -> dict[str, float]:
    """SIGSTOP the worker at a moment it holds leases (up to 10 s of tries); its leases."""
    deadline = time.monotonic() + 10
    while True:
        proc.send_signal(signal.SIGSTOP)
        held = _leases_of(url, pid)
        if held or time.monotonic() > deadline:
            return held
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)


def _soak(url: str, farm: FeedFarm, hook: WebhookReceiver, workers: list[Worker]) -> None:
    started = time.monotonic()
    growing = [n for n in range(farm.count) if n % 10 < 3]  # 30 % get news
    killed_at = restarted = (0.0, 0.0)
    held: dict[str, float] = {}
    while (elapsed := time.monotonic() - started) < 45:
        if int(elapsed) % 8 == 0:
            farm.grow(growing[int(elapsed) % 3 :: 3])
        if elapsed > 14 and killed_at == (0.0, 0.0):
            victim = workers[0]
            pid = victim.proc.pid
            # Frozen while its leases are read, then killed: a worker that polls fast
            # could release them between a check and the kill.
            held = _stopped_holding_leases(victim.proc, url, pid)
            victim.proc.kill()
            killed_at = (time.monotonic(), 0.0)
            victim.proc.wait(5)
        if elapsed > 27 and restarted == (0.0, 0.0):
            before = time.monotonic()
            restart_postgres()
            restarted = (before, time.monotonic())
        time.sleep(1.0 - (time.monotonic() - started) % 1.0)

    # Nothing new from here on: every generated item must end up as one alert.
    expected = farm.generated()
    wait_until(lambda: set(alert_links(url)) >= expected, 30, "every item to become an alert")
    wait_until(lambda: hook.links() >= expected, 20, "every alert to reach the receiver")

    # Every item is exactly one alert in the database.
    links = alert_links(url)
    assert set(links) == expected and max(links.values()) == 1
    with psycopg.connect(conninfo(url)) as conn:
        stored = {r[0] for r in conn.execute("SELECT url FROM articles").fetchall()}
    assert stored == expected

    # Every feed was polled, and after the kill only by the two survivors.
    by_feed = farm.by_feed()
    assert set(by_feed) == set(range(farm.count))
    kill_time = killed_at[0]
    late = {f.agent for fetches in by_feed.values() for f in fetches if f.at > kill_time + 1}
    assert late == {"monitor-test/w1", "monitor-test/w2"}

    # The victim's claimed feeds were taken over, at the latest when its leases ran
    # out (on one host sooner: a worker frees the leases of a local PID that is gone).
    assert held, "the victim held no lease when killed"
    for name, remaining in held.items():
        n = int(name.split("-")[1])
        # (A request the victim sent just before the kill may be served just after.)
        after = [f for f in by_feed[n] if f.at > kill_time and f.agent != "monitor-test/w0"]
        assert after, name
        # The two survivors poll 300 feeds due every 2 s: they are saturated, and a feed
        # freed by the lease's end waits its turn behind the feeds already due (on a
        # loaded two-core machine, seconds). 15 s past the lease, it was taken over.
        assert after[0].at < kill_time + remaining + 15, (name, remaining)
    assert not [
        f
        for fs in by_feed.values()
        for f in fs
        if f.agent == "monitor-test/w0" and f.at > kill_time + 0.5
    ]

    # No feed fetched by two workers at once: consecutive fetches of one feed are
    # a poll interval apart (minus jitter and queueing), never milliseconds. The one
    # exception is a fetch the victim had in flight when it was killed: its poll never
    # finished, and a survivor on the same host takes the feed over at once.
    gaps = [
        (
            b.at - a.at,
            n,
            a.agent,
            b.agent,
            round(a.at - kill_time, 1),
            round(a.at - restarted[0], 1),
        )
        for n, fetches in by_feed.items()
        for a, b in itertools.pairwise(fetches)
        if not (a.agent == "monitor-test/w0" and kill_time - 2 < a.at <= kill_time + 0.5)
    ]
    assert min(gaps)[0] > 0.5, sorted(gaps)[:5]

    # No alert delivered twice, except a send whose acknowledgement the kill or the
    # restart cut off (at-least-once delivery; the receiver drops it by webhook-id).
    received = {delivery: [hit.at for hit in hits] for delivery, hits in hook.by_delivery().items()}
    for delivery, times in received.items():
        if len(times) > 1:
            first = times[0]
            near_kill = abs(first - kill_time) < 3
            near_restart = restarted[0] - 3 < first < restarted[1] + 3
            assert near_kill or near_restart, (delivery, times)
    duplicates = sum(len(t) - 1 for t in received.values())
    assert duplicates <= 10

    # The survivors noticed the restart at most once each, and recovered.
    for w in workers[1:]:
        down = w.events("database_unavailable")
        up = w.events("database_available")
        assert len(down) <= 1 and len(up) == len(down), w.name
        assert w.proc.poll() is None
        assert not w.events("job_failed") and not w.events("feed_poll_crashed")
    print(
        f"\nfetches={sum(len(v) for v in by_feed.values())} alerts={len(links)} "
        f"held_by_victim={len(held)} duplicate_deliveries={duplicates} "
        f"restart={restarted[1] - restarted[0]:.1f}s"
    )


def _leases_of(url: str, pid: int) -> dict[str, float]:
    """Feeds leased to the worker with ``pid`` → seconds left on the lease."""
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT name, extract(epoch FROM lease_until - now()) FROM feeds "
            "WHERE lease_owner LIKE %s AND lease_until > now()",
            (f"%:{pid}:%",),
        ).fetchall()
    return {r[0]: float(r[1]) for r in rows}


# --- the database cut off under one worker (fast) ----------------------------------


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[str, TcpProxy]]:
    """A fresh database reached through a proxy the test can cut."""
    with fresh_database(pg_url) as url:
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        try:
            yield parsed.set(port=proxy.port).render_as_string(hide_password=False), proxy
        finally:
            proxy.close()


def test_daemon_rides_out_a_database_cut_and_loses_nothing(proxied, tmp_path):
    url, proxy = proxied
    farm = FeedFarm(3).start()
    try:
        config = load_config(worker_config(tmp_path / "m.yaml", url, farm, name="solo"))
        app = build_app(config, metrics=Metrics())
        app.sync_feeds()
        daemon = Daemon(
            config=config, config_path=tmp_path / "m.yaml", app=app, metrics=app.metrics
        )
        daemon.tick()
        assert daemon.db_ok and daemon.health()[0]
        log_path = tmp_path / "alerts-solo.jsonl"
        # The daemon hands deliveries to their channel threads and goes on.
        wait_until(lambda: len(read_alert_log(log_path)) == 3, 10, "three alerts logged")

        farm.grow([0, 1, 2])
        _force_due(app)
        proxy.cut()
        with capture_logs() as logs:
            daemon.tick()  # fetches, cannot store: no crash, unhealthy, retry later
            daemon.retry_at = 0.0
            daemon.tick()  # still down: no second log line
            daemon.deliver()
        healthy, details = daemon.health()
        assert not daemon.db_ok and not healthy and details["database"] == "unreachable"
        assert daemon.retry_delay == 2.0  # backing off: 1 s, then 2 s

        proxy.restore()
        daemon.retry_at = 0.0
        with capture_logs() as more:
            daemon.tick()
        logs += more

        assert daemon.db_ok and daemon.health()[0]
        expected = farm.generated()
        with app.engine.connect() as conn:
            alerts = set(conn.execute(select(AlertRow.url)).scalars())
            articles = conn.execute(select(func.count()).select_from(ArticleRow)).scalar()
        assert alerts == expected and articles == 6
        wait_until(
            lambda: {a["url"] for a in read_alert_log(log_path)} == expected,
            10,
            "every alert logged",
        )
        assert len(read_alert_log(log_path)) == len(expected)
        app.close()
    finally:
        farm.stop()
    events = [e["event"] for e in logs]
    assert events.count("database_unavailable") == 1
    assert events.count("database_available") == 1


def _force_due(app: Any) -> None:
    from sqlalchemy import update

    from monitor.storage.models import FeedRow

    with app.engine.begin() as conn:
        conn.execute(update(FeedRow).values(next_poll=None))


def test_monitor_run_started_before_its_database_waits_for_it(proxied, tmp_path):
    url, proxy = proxied
    storage.open_database(url).dispose()
    farm = FeedFarm(2).start()
    proxy.cut()
    worker = Worker(worker_config(tmp_path / "m.yaml", url, farm, name="late"), "late")
    try:
        wait_until(
            lambda: bool(worker.events("database_unavailable")),
            20,
            "the worker to notice the database is down",
        )
        time.sleep(2.5)  # several retries (1 s, 2 s …), one log line
        assert worker.proc.poll() is None
        assert len(worker.events("database_unavailable")) == 1

        proxy.restore()
        wait_until(lambda: bool(worker.events("tick_finished")), 20, "the first tick")
        assert worker.events("database_available")
        wait_until(
            lambda: set(alert_links(url)) == {item_link(0, 0), item_link(1, 0)},
            10,
            "both items to become alerts",
        )
    finally:
        code = worker.stop()
        farm.stop()
    assert code == 0
