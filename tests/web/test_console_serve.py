"""Serving the console: `monitor web` and `monitor run` as real processes, /healthz and
/metrics beside it, `monitor check` refusing a non-loopback listen without a token,
and `monitor alerts show`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from click.testing import Result

from monitor.metrics import Metrics
from monitor.web import Console, WebServer, create_app
from tests.conftest import REPO
from tests.support.ports import free_port
from tests.web.conftest import STORY_URL, Scenario


def _wait_for(url: str, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_monitor_web_serves_the_console_from_the_database(scenario: Scenario) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "web",
            "-c",
            str(scenario.config),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/stories/{scenario.story_id}")
        assert page.status_code == 200
        assert STORY_URL in page.text
        feed = httpx.get(f"http://127.0.0.1:{port}/alerts.json", timeout=5).json()
        assert len(feed["items"]) == len(scenario.alerts)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_monitor_web_refuses_a_public_listen_without_token(
    scenario: Scenario, cli: Callable[..., Result]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "web",
            "-c",
            str(scenario.config),
            "--listen",
            "0.0.0.0:0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr


def test_check_refuses_a_non_loopback_listen_without_token(
    write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    config = write_config(http={"listen": "0.0.0.0:9464"})
    refused = cli("check", "-c", str(config))
    assert refused.exit_code == 2
    assert "http.token" in refused.output and "monitor.yaml:" in refused.output
    config = write_config(http={"listen": "0.0.0.0:9464", "token": "a-long-enough-token-42"})
    assert cli("check", "-c", str(config)).exit_code == 0
    config = write_config(http={"listen": "[::1]:9464"})
    assert cli("check", "-c", str(config)).exit_code == 0


def test_healthz_and_metrics_beside_the_console(scenario: Scenario) -> None:
    from monitor import storage

    engine = storage.open_database(scenario.database_url)
    state = {"ok": True}
    metrics = Metrics()

    def check() -> tuple[bool, dict[str, object]]:
        return state["ok"], {"reason": "database unreachable"} if not state["ok"] else {}

    app = create_app(
        Console(engine=engine), token="a-long-enough-token-42", check=check, metrics=metrics
    )
    try:
        with WebServer("127.0.0.1:0", app) as server:
            healthy = httpx.get(server.url + "/healthz", timeout=5)
            assert healthy.status_code == 200
            assert healthy.headers["content-type"] == "application/json"
            assert healthy.json()["status"] == "ok"
            state["ok"] = False
            sick = httpx.get(server.url + "/healthz?x=1", timeout=5)
            assert sick.status_code == 503 and sick.json()["reason"] == "database unreachable"
            scraped = httpx.get(server.url + "/metrics", timeout=5)
            assert scraped.status_code == 200 and "monitor_" in scraped.text
            assert httpx.get(server.url + "/", timeout=5).status_code == 401
    finally:
        engine.dispose()


def test_monitor_run_serves_the_console_beside_healthz(
    scenario: Scenario, daemons: Callable[[Path], object]
) -> None:
    port = free_port()
    doc = yaml.safe_load(scenario.config.read_text("utf-8"))
    doc["http"]["listen"] = f"127.0.0.1:{port}"
    scenario.config.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    daemon = daemons(scenario.config)
    stories = _wait_for(f"http://127.0.0.1:{port}/")
    assert stories.status_code == 200
    assert f"/stories/{scenario.story_id}" in stories.text
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code in (200, 503)
    assert daemon.stop() == 0  # type: ignore[attr-defined]


def test_alerts_show_prints_one_alert_in_full(
    scenario: Scenario, cli: Callable[..., Result]
) -> None:
    shown = cli("alerts", "show", scenario.story_id, "-c", str(scenario.config))
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert scenario.story_id in text
    assert "[[Anchorage]]" in text or "[[Trump]]" in text  # terms marked in the snippet
    assert "Rule that fired" in text and "all of: Trump | Трамп" in text
    outlets = text[text.index("Outlets") :]
    assert outlets.index("wire-a") < outlets.index("paper-b")
    assert "first reporter" in outlets.splitlines()[1]
    assert "alert log: delivered" in text
    missing = cli("alerts", "show", "0" * 32, "-c", str(scenario.config))
    assert missing.exit_code == 1 and "no alert" in missing.output


def test_alerts_show_keeps_hostile_text_off_the_terminal(
    scenario: Scenario, cli: Callable[..., Result]
) -> None:
    shown = cli("alerts", "show", scenario.hostile_id, "-c", str(scenario.config))
    assert shown.exit_code == 0
    assert "\x1b" not in shown.output  # not a terminal: no colour, and nothing from the feed
    assert max(len(line) for line in shown.output.splitlines()) < 3000


def test_alert_lines_show_the_first_snippet(scenario: Scenario, cli: Callable[..., Result]) -> None:
    lines = cli("alerts", "-c", str(scenario.config)).output.splitlines()
    story = next(line for line in lines if STORY_URL in line)
    first = next(a for a in scenario.alerts if a["id"] == scenario.story_id)["evidence"][0]
    assert "snippet: " in story
    assert " ".join(first["snippet"].split())[:60] in story
    assert json.loads(cli("alerts", "-c", str(scenario.config), "--json").output.splitlines()[0])


def test_slow_and_idle_clients_do_not_stall_the_console(scenario: Scenario) -> None:
    from monitor import storage

    engine = storage.open_database(scenario.database_url)
    app = create_app(Console(engine=engine), check=lambda: (True, {}), metrics=Metrics())
    held: list[socket.socket] = []
    try:
        with WebServer("127.0.0.1:0", app) as server:
            # 40 clients that connect and trickle half a request, and never finish it.
            for _ in range(40):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                held.append(sock)
            for path in ("/healthz", "/", f"/stories/{scenario.story_id}"):
                assert httpx.get(server.url + path, timeout=5).status_code == 200, path
    finally:
        for sock in held:
            sock.close()
        engine.dispose()


def _closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes (b"" or a reset); False if it keeps it open 30 s."""
    sock.settimeout(30)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_clients_that_never_finish_a_request_head_are_cut_off(scenario: Scenario) -> None:
    from monitor import storage

    engine = storage.open_database(scenario.database_url)
    app = create_app(Console(engine=engine), check=lambda: (True, {}), metrics=Metrics())
    held: list[socket.socket] = []
    try:
        with WebServer("127.0.0.1:0", app, max_connections=8, header_timeout=0.5) as server:
            # One that completes a request, then trickles the head of the next one.
            kept = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert kept.recv(4096).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET / HTTP/1.1\r\n")
            held.append(kept)
            # As many trickling clients as there are slots: a slow-loris holding them all.
            for _ in range(8):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                held.append(sock)
            # A client that connects and says nothing at all.
            held.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
            assert all(_closed_by_server(sock) for sock in held)
            # The slots are free again: the health check answers.
            assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
        engine.dispose()


def test_a_request_head_sent_in_pieces_in_time_is_served(scenario: Scenario) -> None:
    from monitor import storage

    engine = storage.open_database(scenario.database_url)
    app = create_app(Console(engine=engine), check=lambda: (True, {}), metrics=Metrics())
    try:
        with (
            WebServer("127.0.0.1:0", app, header_timeout=30) as server,
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
        ):
            for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
                sock.sendall(piece)
                time.sleep(0.2)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        engine.dispose()
