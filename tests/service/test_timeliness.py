"""Never silently blind (issue 11): a daemon whose feeds all fail raises `monitor:blind`
once and answers /healthz 503 "blind"; polls that succeed again raise `monitor:sighted`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from werkzeug import Response

from tests.support.daemon_support import topics_of
from tests.support.feedgen import OTHER_EN, rss
from tests.support.ports import free_port


def _healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_daemon_that_sees_nothing_says_so_and_says_when_it_sees_again(
    httpserver, write_config, daemons, tmp_path
):
    state = {"up": False}

    def answer(_request):
        if state["up"]:
            return Response(rss([OTHER_EN]), content_type="application/rss+xml")
        return Response("down", status=503)

    httpserver.expect_request("/f.xml").respond_with_handler(answer)
    port = free_port()
    config = write_config(
        feeds=[{"name": "f", "url": httpserver.url_for("/f.xml"), "interval": "1s"}],
        http={"allow_private_networks": True, "listen": f"127.0.0.1:{port}"},
        health={"blind_after": "3s"},
        tick="1s",
    )
    log = tmp_path / "alerts.jsonl"
    daemon = daemons(config)

    daemon.wait_for(lambda: "monitor:blind" in topics_of(log), 60, "monitor:blind")
    status, body = _healthz(port)
    assert status == 503 and body["status"] == "blind", body
    assert "blind" in body["reason"]

    state["up"] = True
    daemon.wait_for(lambda: "monitor:sighted" in topics_of(log), 60, "monitor:sighted")
    daemon.wait_for(lambda: _healthz(port)[0] == 200, 30, "/healthz ok again")
    assert daemon.stop() == 0
    assert topics_of(log).count("monitor:blind") == 1
    assert topics_of(log).count("monitor:sighted") == 1
    blind = [e for e in daemon.logs() if e.get("event") == "monitor_blind"]
    assert len(blind) == 1
    started = next(e for e in daemon.logs() if e.get("event") == "daemon_started")
    assert started["config"] == str(config) and started["alert_log"] == str(log)
    assert started["database"].startswith("sqlite:///")
    failed = next(e for e in daemon.logs() if e.get("event") == "feed_failed")
    keys = list(failed)  # the reason first, right after the feed's name
    assert keys.index("error") == keys.index("feed") + 1 and "503" in failed["error"]


@pytest.mark.slow
def test_a_daemon_restarted_while_blind_says_when_it_sees_again_and_not_blind_twice(
    httpserver, write_config, daemons, tmp_path
):
    """systemd restarts the daemon during an outage: the operator who was told
    "blind" must still hear "sighted", and the same blindness is not alerted again."""
    state = {"up": False}

    def answer(_request):
        if state["up"]:
            return Response(rss([OTHER_EN]), content_type="application/rss+xml")
        return Response("down", status=503)

    httpserver.expect_request("/f.xml").respond_with_handler(answer)
    config = write_config(
        feeds=[{"name": "f", "url": httpserver.url_for("/f.xml"), "interval": "1s"}],
        http={"allow_private_networks": True, "listen": False},
        health={"blind_after": "2s"},
        tick="1s",
    )
    log = tmp_path / "alerts.jsonl"
    first = daemons(config)
    first.wait_for(lambda: "monitor:blind" in topics_of(log), 60, "monitor:blind")
    assert first.stop() == 0

    second = daemons(config)
    second.wait_for(
        lambda: any(e.get("event") == "tick_finished" for e in second.logs()), 60, "a tick"
    )
    # Still blind, past blind_after again in the new process: no second alert.
    second.wait_for(
        lambda: sum(e.get("event") == "feed_failed" for e in second.logs()) >= 3, 60, "3 fails"
    )
    state["up"] = True
    second.wait_for(lambda: "monitor:sighted" in topics_of(log), 60, "monitor:sighted")
    assert second.stop() == 0
    assert topics_of(log).count("monitor:blind") == 1
    assert topics_of(log).count("monitor:sighted") == 1
