"""A daemon whose parser workers compile the topics is alive and making progress: the
systemd watchdog is fed meanwhile, the tick is not reported stalled and the feeds in
flight keep their leases. Workers that die right after compiling, one after another,
do not excuse a tick for ever; a tick that hangs for anything else still starves the
watchdog. (A real compile takes ~3.4 s at 10,000 topics; the pool allows 5 minutes,
the length of the shipped unit's ``WatchdogSec``.)"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor import storage
from monitor.config.load import load_config
from monitor.errors import ParseError
from monitor.metrics import Metrics
from monitor.parsing import ParserPool
from monitor.parsing.pool import WorkerContext
from monitor.pipeline import FeedOutcome
from monitor.service.app import utcnow
from monitor.service.daemon import Daemon, tick_interval
from monitor.service.passes import run_pass
from monitor.service.startup import start_app
from monitor.types import FeedSpec, FeedState, PollStatus
from tests.test_sifting import URL


def die_with_context(content: bytes, *, url: str, headers: Mapping[str, str], context: str) -> str:
    """A job whose worker dies right after it compiled the context (imported by name)."""
    os._exit(3)


def _wait(what: Callable[[], bool], ceiling: float = 120.0) -> None:
    deadline = time.monotonic() + ceiling  # generous on a loaded machine
    while not what():
        assert time.monotonic() < deadline, f"waited {ceiling} s"
        time.sleep(0.05)


def _compile_and_die(pool: ParserPool, seconds: float) -> None:
    """A job whose worker compiles the topics for ``seconds``, then dies."""
    with pytest.raises(ParseError, match="died"):
        pool.run(
            "tests.service.test_build_liveness:die_with_context",
            b"",
            url=URL,
            headers={},
            deadline=30,
            context=WorkerContext("tests.test_sifting:sleepy_build", "v1", seconds),
        )


def _compile(pool: ParserPool, seconds: float, key: str = "v1") -> object:
    return pool.run(
        "tests.test_sifting:with_context",
        b"",
        url=URL,
        headers={},
        deadline=30,
        context=WorkerContext("tests.test_sifting:sleepy_build", key, seconds),
    )


@pytest.fixture
def notify_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], list[bytes]]]:
    """systemd's end of ``$NOTIFY_SOCKET``; yields what reads the messages sent so far."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = tmp_path / "notify"
    sock.bind(str(address))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(address))

    def received() -> list[bytes]:
        messages = []
        while True:
            try:
                messages.append(sock.recv(4096))
            except BlockingIOError:
                return messages

    yield received
    sock.close()


def _watching(daemon: Daemon) -> threading.Thread:
    watch = threading.Thread(target=daemon.watch_ticks, kwargs={"every": 0.1}, daemon=True)
    watch.start()
    return watch


def test_the_watchdog_is_fed_while_a_worker_compiles_not_while_a_tick_hangs(
    daemon: Daemon, notify_socket: Callable[[], list[bytes]]
) -> None:
    daemon.tick_started = time.monotonic()  # a tick in progress, its feed compiling
    watch = _watching(daemon)
    job = threading.Thread(target=_compile, args=(daemon.app.parser, 6.0))
    job.start()
    fed: list[bytes] = []
    try:
        _wait(lambda: daemon.app.parser.builds.seconds() >= 1)
        notify_socket()  # the compile has gone on for a second (ten looks of the watcher)
        _wait(lambda: not job.is_alive() or daemon.app.parser.builds.seconds() >= 4)
        fed = notify_socket()
        assert job.is_alive()
    finally:
        job.join(timeout=120)
    assert b"WATCHDOG=1" in fed  # fed while compiling, though no tick finished
    # The same tick, compiled and hanging now: once the watcher has looked at the
    # compile's last moments, it feeds the watchdog no more.
    quiet_since = time.monotonic()
    deadline = quiet_since + 60
    while time.monotonic() - quiet_since < 3.0:  # 30 looks of the watcher
        assert time.monotonic() < deadline, "the watchdog is still fed by a hung tick"
        if notify_socket():
            quiet_since = time.monotonic()
        time.sleep(0.05)
    daemon.stop.set()
    watch.join(timeout=10)


def test_a_tick_that_waits_for_a_compile_is_not_reported_stalled(daemon: Daemon) -> None:
    stall = max(120.0, 5 * tick_interval(daemon.config).total_seconds())
    job = threading.Thread(target=_compile, args=(daemon.app.parser, 6.0))
    with capture_logs() as logs:
        watch = _watching(daemon)
        job.start()
        try:
            _wait(lambda: daemon.app.parser.builds.seconds() >= 3)
            # the tick began a second past the stall limit, waiting for the compile
            daemon.tick_started = time.monotonic() - stall - 1
            time.sleep(0.5)  # five looks of the watcher
            assert job.is_alive()
        finally:
            job.join(timeout=120)
        stalled_while_compiling = [e for e in logs if e["event"] == "tick_stalled"]
        # once the compile's excuse is used up, the same tick is stalled
        daemon.tick_started = time.monotonic() - stall - 1 - 60
        _wait(lambda: any(e["event"] == "tick_stalled" for e in logs), ceiling=30)
        daemon.stop.set()
        watch.join(timeout=10)
    assert stalled_while_compiling == []


def test_workers_dying_after_compiling_excuse_a_tick_one_build_deadline_at_most(
    write_config: Callable[..., Path], notify_socket: Callable[[], list[bytes]]
) -> None:
    path = write_config()
    app = start_app(load_config(path), None, Metrics(), threading.Event())
    assert app is not None
    app.parser.shutdown()
    app.parser = ParserPool(size=1, build_deadline=12.0)
    daemon = Daemon(config=app.config, config_path=path, app=app, metrics=app.metrics)
    try:
        limit = float(daemon.health()[1]["tick_limit_seconds"])
        # Four compiles of 4 s, each worker dying right after: over 16 s of building.
        for _ in range(4):
            _compile_and_die(app.parser, 4.0)
        built = app.parser.builds.seconds()
        assert built >= 16
        # The last tick finished past the limit by more than one build's allowance
        # (12 s), less than all the building (halfway between).
        daemon.last_tick = utcnow() - timedelta(seconds=limit + (12 + built) / 2)
        healthy, details = daemon.health()
        assert not healthy and "last tick finished" in str(details["reason"]), details
        # nor is the watchdog fed by more of it
        notify_socket()
        daemon.tick_started = time.monotonic()
        watch = _watching(daemon)
        _compile_and_die(app.parser, 2.5)
        assert b"WATCHDOG=1" not in notify_socket()
        daemon.stop.set()
        watch.join(timeout=10)
    finally:
        app.close()


def test_a_feed_in_flight_keeps_its_lease_while_its_worker_compiles(tmp_path: Path) -> None:
    lease = timedelta(seconds=4)
    engine = storage.open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    storage.sync_feeds(engine, [FeedSpec(name="a", url="http://news.example/a.xml")], utcnow())
    pool = ParserPool(size=1)
    taken: list[str] = []

    def poll(spec: FeedSpec, state: FeedState) -> FeedOutcome:
        _compile(pool, 10.0)  # the parse waits for the worker's compile, longer than the lease
        return FeedOutcome(feed=spec.name, status=PollStatus.NOT_MODIFIED)

    def other_worker() -> None:
        # well past the lease since the claim: a worker of another daemon looks for it
        _wait(lambda: pool.builds.seconds() >= 7)
        claimed = storage.claim_feeds(
            engine,
            owner="worker-2",
            now=datetime.now(UTC),
            lease=timedelta(minutes=5),
            limit=10,
            names=["a"],
            due_only=False,
        )
        taken.extend(spec.name for spec, _ in claimed)

    other = threading.Thread(target=other_worker)
    other.start()
    try:
        run_pass(
            engine,
            poll,
            owner="worker-1",
            now=lambda: datetime.now(UTC),
            lease=lease,
            workers=1,
            progress=pool.builds.seconds,
        )
    finally:
        other.join(timeout=120)
        pool.shutdown()
        engine.dispose()
    assert taken == []


def test_the_daemon_closes_a_connection_its_server_closed_between_ticks(
    daemon: Daemon, hostile_servers: Callable[[Any], Any]
) -> None:
    """(Not about compiles: the daemon's other job between ticks.)"""
    from tests.fetching.test_fetch_connections import _our_sockets_to
    from tests.support.hostile_server import RSS, respond

    def answer_then_hang_up(sock: socket.socket, request: object, srv: object) -> None:
        respond(sock, 200, RSS)
        time.sleep(0.2)
        sock.shutdown(socket.SHUT_RDWR)

    server = hostile_servers(answer_then_hang_up)
    fetched = daemon.app.pipeline.fetcher.fetch(server.url(), now=utcnow())
    assert fetched.status == "ok"
    _wait(lambda: "CLOSE_WAIT" in _our_sockets_to(server.port), ceiling=30)
    daemon.sweep_connections()  # the daemon's "sweep" job, every 5 s
    assert "CLOSE_WAIT" not in _our_sockets_to(server.port)


def test_a_feed_that_finished_while_leases_were_renewed_is_not_reported_lost(
    tmp_path: Path,
) -> None:
    # Renewing the leases in flight: "b" was saved (which gives its lease back) but the
    # pass had not yet seen it finish; "c" was really taken by another worker. Only "c"
    # was lost.
    lease = timedelta(seconds=6)  # renewed every 2 s
    engine = storage.open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    specs = [FeedSpec(name=n, url=f"http://{n}.example/feed.xml") for n in "abc"]
    storage.sync_feeds(engine, specs, utcnow())
    renewing = threading.Event()
    calls = [0]

    def progress() -> float:  # a compile in progress: moves at each look
        calls[0] += 1
        if calls[0] > 1:
            renewing.set()
        return float(calls[0])

    def poll(spec: FeedSpec, state: FeedState) -> FeedOutcome:
        if spec.name == "b":  # saved: the lease is given back with the state
            storage.release_feeds(engine, "worker-1", ["b"])
        if spec.name == "c":  # another worker took it (as after our lease ran out)
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE feeds SET lease_owner = 'worker-2' WHERE name = 'c'")
        assert renewing.wait(60)
        if spec.name != "b":
            time.sleep(0.5)  # in flight while the leases are renewed
        return FeedOutcome(feed=spec.name, status=PollStatus.NOT_MODIFIED)

    try:
        with capture_logs() as logs:
            run_pass(
                engine,
                poll,
                owner="worker-1",
                now=lambda: datetime.now(UTC),
                lease=lease,
                workers=3,
                progress=progress,
            )
    finally:
        engine.dispose()
    lost = sorted(e["feed"] for e in logs if e["event"] == "feed_lease_lost")
    assert lost == ["c"]
