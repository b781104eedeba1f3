"""/healthz and /metrics over real HTTP on 127.0.0.1 (the web console's server, as
`monitor run` serves them), and the tick health rule."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.errors import MonitorError
from monitor.metrics import Metrics
from monitor.service.health import HealthCheck, parse_listen, tick_health
from monitor.web import Console, WebServer, create_app

NOW = datetime(2026, 1, 22, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=30)


class State:
    """What the daemon's check would report; tests flip it."""

    def __init__(self) -> None:
        self.ok = True
        self.details: dict[str, object] = {"last_tick_age_seconds": 4.0}
        self.calls = 0

    def check(self) -> tuple[bool, dict[str, object]]:
        self.calls += 1
        return self.ok, dict(self.details)


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = storage.open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield engine
    engine.dispose()


ServerFactory = Callable[..., WebServer]


@pytest.fixture
def make_server(engine: Engine, metrics: Metrics) -> Iterator[ServerFactory]:
    """``make_server(check, listen=…, max_connections=…)``: a WebServer serving the
    console with /healthz and /metrics, not started; stopped after the test."""
    made: list[WebServer] = []

    def make(check: HealthCheck, listen: str = "127.0.0.1:0", **kwargs: int) -> WebServer:
        app = create_app(Console(engine=engine, topics=()), check=check, metrics=metrics)
        server = WebServer(listen, app, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory, state: State) -> WebServer:
    srv = make_server(state.check)
    srv.start()
    return srv


def test_healthy_is_200_with_json(server: WebServer) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"status": "ok", "last_tick_age_seconds": 4.0}


def test_server_header_names_the_program_and_its_version(server: WebServer) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.headers.get_list("server") == [f"monitor/{version('monitor')}"]


def test_unhealthy_is_503_with_a_reason(server: WebServer, state: State) -> None:
    state.ok = False
    state.details = {"reason": "database unreachable"}
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"] == "database unreachable"
    assert response.json()["status"] == "unhealthy"


def test_unhealthy_without_details_still_has_a_reason(server: WebServer, state: State) -> None:
    state.ok = False
    state.details = {}
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"]


def test_a_broken_check_is_unhealthy_not_a_crash(make_server: ServerFactory) -> None:
    def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("password=hunter2")

    srv = make_server(broken)
    srv.start()
    response = httpx.get(f"{srv.url}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"] == "health check failed: RuntimeError"
    assert "hunter2" not in response.text
    assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 503


def test_metrics_in_prometheus_text(server: WebServer, metrics: Metrics) -> None:
    metrics.record_poll("tass-en", "ok", 0.2)
    metrics.record_alert("trump-putin-summit")
    metrics.record_delivery("alert_log", "ok")
    metrics.set_backlog(2)
    response = httpx.get(f"{server.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples[("monitor_polls_total", (("feed", "tass-en"), ("result", "ok")))] == 1
    assert samples[("monitor_alerts_total", (("topic", "trump-putin-summit"),))] == 1
    assert samples[("monitor_deliveries_total", (("channel", "alert_log"), ("result", "ok")))] == 1
    assert samples[("monitor_outbox_backlog", ())] == 2
    assert ("monitor_last_tick_timestamp_seconds", ()) in samples


# "/" is the console's list of stories on this server, so it is no longer a 404.
@pytest.mark.parametrize(
    "path", ["/nowhere", "/healthz/extra", "/metrics.txt", "/../etc/passwd", "/healthz.json"]
)
def test_other_paths_are_404(server: WebServer, state: State, path: str) -> None:
    assert httpx.get(f"{server.url}{path}", timeout=5).status_code == 404
    assert state.calls == 0


def test_query_strings_are_ignored(server: WebServer) -> None:
    assert httpx.get(f"{server.url}/healthz?verbose=1", timeout=5).status_code == 200


def test_head_has_no_body(server: WebServer, state: State) -> None:
    response = httpx.head(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b""
    state.ok = False
    assert httpx.head(f"{server.url}/healthz", timeout=5).status_code == 503


def test_other_methods_are_refused(server: WebServer, state: State) -> None:
    response = httpx.post(f"{server.url}/healthz", content=b"x", timeout=5)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert state.calls == 0


def test_slow_and_idle_clients_do_not_block_healthz(server: WebServer) -> None:
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x")  # never finishes its headers
        for _ in range(3):
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        slow.close()
        idle.close()


@pytest.mark.slow
def test_an_idle_kept_alive_connection_is_closed_by_the_server(server: WebServer) -> None:
    # Scrapers keep connections open; the server must not hold them for ever.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 ")
        while chunk := sock.recv(4096):  # the rest of the body, then the server's close
            answer += chunk
        assert answer.endswith(b"}\n")


def test_a_connection_flood_is_answered_503_at_once(
    make_server: ServerFactory, state: State
) -> None:
    srv = make_server(state.check, max_connections=4)
    srv.start()
    idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(4)]
    try:
        # Past the cap a client is told so (no thread or task spent on it, no check run).
        response = httpx.get(f"{srv.url}/healthz", timeout=5)
        assert response.status_code == 503
        assert state.calls == 0
    finally:
        for sock in idle:
            sock.close()
    # Once the idle ones are gone, the endpoint answers again.
    deadline = time.monotonic() + 5
    while True:
        try:
            assert httpx.get(f"{srv.url}/healthz", timeout=2).status_code == 200
            break
        except (httpx.TransportError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert state.calls >= 1


def test_binds_exactly_the_configured_address(server: WebServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    with socket.socket() as probe:
        # The same port on another local address is not served.
        assert probe.connect_ex(("127.0.0.2", server.port)) != 0


def test_an_address_in_use_is_a_clear_error(
    server: WebServer, make_server: ServerFactory, state: State
) -> None:
    second = make_server(state.check, listen=f"127.0.0.1:{server.port}")
    with pytest.raises(MonitorError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        second.start()
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_start_and_stop_are_idempotent_and_stop_closes_the_port(
    make_server: ServerFactory, state: State
) -> None:
    srv = make_server(state.check)
    srv.start()
    port = srv.port
    srv.start()  # a second start keeps serving where it was
    assert srv.port == port
    assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200
    srv.stop()
    srv.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_ipv6_loopback(make_server: ServerFactory, state: State) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    srv = make_server(state.check, listen="[::1]:0")
    try:
        srv.start()
    except MonitorError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("listen", ["9464", ":9464", "host:", "127.0.0.1:99999", "a:b"])
def test_bad_listen_values(listen: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(listen)


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:0") == ("::1", 0)


# --- tick_health: the rule behind the daemon's check -------------------------------


def test_recent_tick_and_database_is_healthy() -> None:
    ok, details = tick_health(NOW - timedelta(seconds=45), TICK, NOW, db_ok=True)
    assert ok
    assert details["status"] == "ok"
    assert details["last_tick_age_seconds"] == 45.0
    assert "reason" not in details
    json.dumps(details)


def test_three_intervals_is_the_limit() -> None:
    assert tick_health(NOW - 3 * TICK, TICK, NOW, db_ok=True)[0]
    ok, details = tick_health(NOW - 3 * TICK - timedelta(seconds=1), TICK, NOW, db_ok=True)
    assert not ok
    assert details["reason"] == "last tick finished 91s ago (limit 90s)"


def test_database_down_is_unhealthy() -> None:
    ok, details = tick_health(NOW - timedelta(seconds=5), TICK, NOW, db_ok=False)
    assert not ok
    assert details["database"] == "unreachable"
    assert details["reason"] == "database unreachable"


def test_both_reasons_are_given() -> None:
    ok, details = tick_health(NOW - timedelta(hours=1), TICK, NOW, db_ok=False)
    assert not ok
    assert str(details["reason"]).startswith("database unreachable; last tick finished 3600s")


def test_no_tick_yet() -> None:
    assert not tick_health(None, TICK, NOW, db_ok=True)[0]
    just_started = NOW - timedelta(seconds=10)
    assert tick_health(None, TICK, NOW, db_ok=True, started_at=just_started)[0]
    long_ago = NOW - timedelta(minutes=5)
    ok, details = tick_health(None, TICK, NOW, db_ok=True, started_at=long_ago)
    assert not ok
    assert details["reason"] == "no tick has finished yet"


def test_slack_for_the_slowest_fetch_extends_the_limit() -> None:
    slack = timedelta(seconds=60)
    assert tick_health(NOW - 3 * TICK - slack, TICK, NOW, db_ok=True, slack=slack)[0]
    ok, details = tick_health(
        NOW - 3 * TICK - slack - timedelta(seconds=1), TICK, NOW, db_ok=True, slack=slack
    )
    assert not ok
    assert details["reason"] == "last tick finished 151s ago (limit 150s)"
    assert details["tick_limit_seconds"] == 150.0
