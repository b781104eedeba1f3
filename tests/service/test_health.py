"""/healthz and /metrics over real HTTP on 127.0.0.1, and the tick health rule."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.errors import MonitorError
from monitor.metrics import Metrics
from monitor.service.health import HealthServer, parse_listen, tick_health

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
def server(state: State, metrics: Metrics) -> Iterator[HealthServer]:
    with HealthServer("127.0.0.1:0", state.check, metrics, request_timeout=1.0) as srv:
        yield srv


def test_healthy_is_200_with_json(server: HealthServer) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "last_tick_age_seconds": 4.0}


def test_server_header_names_the_program_and_its_version(server: HealthServer) -> None:
    from importlib.metadata import version

    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.headers["server"] == f"monitor/{version('monitor')}"


def test_unhealthy_is_503_with_a_reason(server: HealthServer, state: State) -> None:
    state.ok = False
    state.details = {"reason": "database unreachable"}
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"] == "database unreachable"
    assert response.json()["status"] == "unhealthy"


def test_unhealthy_without_details_still_has_a_reason(server: HealthServer, state: State) -> None:
    state.ok = False
    state.details = {}
    response = httpx.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"]


def test_a_broken_check_is_unhealthy_not_a_crash(state: State, metrics: Metrics) -> None:
    def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("password=hunter2")

    with HealthServer("127.0.0.1:0", broken, metrics) as srv:
        response = httpx.get(f"{srv.url}/healthz", timeout=5)
        assert response.status_code == 503
        assert response.json()["reason"] == "health check failed: RuntimeError"
        assert "hunter2" not in response.text
        assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 503


def test_metrics_in_prometheus_text(server: HealthServer, metrics: Metrics) -> None:
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


@pytest.mark.parametrize("path", ["/", "/healthz/extra", "/metrics.txt", "/../etc/passwd"])
def test_other_paths_are_404(server: HealthServer, path: str) -> None:
    assert httpx.get(f"{server.url}{path}", timeout=5).status_code == 404


def test_query_strings_are_ignored(server: HealthServer) -> None:
    assert httpx.get(f"{server.url}/healthz?verbose=1", timeout=5).status_code == 200


def test_head_has_no_body(server: HealthServer) -> None:
    response = httpx.head(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.content == b""


def test_other_methods_are_refused(server: HealthServer, state: State) -> None:
    response = httpx.post(f"{server.url}/healthz", content=b"x", timeout=5)
    assert response.status_code == 501
    assert state.calls == 0


def test_a_slow_client_does_not_block_others(server: HealthServer) -> None:
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x")  # never finishes its headers
        started = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 0.5
        # ... and the server drops it once the request timeout (1 s here) passes.
        slow.settimeout(5)
        assert slow.recv(4096) == b""
        assert time.monotonic() - started < 3
    finally:
        slow.close()


def test_a_connection_flood_is_capped(state: State, metrics: Metrics) -> None:
    with HealthServer("127.0.0.1:0", state.check, metrics, max_connections=4) as srv:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(4)]
        try:
            time.sleep(0.3)  # let the server accept the four before the fifth arrives
            extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            with extra:
                extra.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                assert extra.recv(4096) == b""  # closed without an answer, no thread spent
        finally:
            for sock in idle:
                sock.close()
        # Once the idle ones are gone, the endpoint answers again.
        deadline = time.monotonic() + 3
        while True:
            try:
                assert httpx.get(f"{srv.url}/healthz", timeout=2).status_code == 200
                break
            except (httpx.TransportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def test_binds_exactly_the_configured_address(server: HealthServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    with socket.socket() as probe:
        # The same port on another local address is not served.
        assert probe.connect_ex(("127.0.0.2", server.port)) != 0


def test_an_address_in_use_is_a_clear_error(
    server: HealthServer, state: State, metrics: Metrics
) -> None:
    second = HealthServer(f"127.0.0.1:{server.port}", state.check, metrics)
    with pytest.raises(MonitorError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        second.start()


def test_stop_closes_the_port(state: State, metrics: Metrics) -> None:
    srv = HealthServer("127.0.0.1:0", state.check, metrics)
    srv.start()
    port = srv.port
    srv.stop()
    srv.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_ipv6_loopback(state: State, metrics: Metrics) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        srv = HealthServer("[::1]:0", state.check, metrics)
        srv.start()
    except MonitorError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert httpx.get(f"{srv.url}/healthz", timeout=5).status_code == 200
    finally:
        srv.stop()


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
