"""`monitor mute`, `unmute`, `mutes`: a muted topic's alerts are stored, logged and listed
(marked muted) but not sent, on every channel, until the mute ends by itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor import storage
from monitor.config.load import load_config
from monitor.service.app import build_app
from tests.support.alerting import raise_alerts, topic_alert
from tests.support.feedgen import PEACE_EN, SUMMIT_EN, rss


def test_muted_topic_is_stored_and_listed_as_muted_but_not_sent(
    httpserver, write_config, cli, alert_log, hook
):
    httpserver.expect_request("/wire.xml").respond_with_data(
        rss([SUMMIT_EN, PEACE_EN]), content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[{"name": "wire", "url": httpserver.url_for("/wire.xml")}],
        notify=[{"webhook": hook.url(), "name": "ops-hook"}],
    )
    result = cli(
        "mute", "-c", str(config), "trump-putin-summit", "--for", "4h", "--reason", "summit day"
    )
    assert result.exit_code == 0, result.output
    assert "muted topic trump-putin-summit until" in result.output
    listed = cli("mutes", "-c", str(config))
    assert "trump-putin-summit" in listed.output and "summit day" in listed.output
    assert "3h59m left" in listed.output or "4h00m left" in listed.output

    assert cli("poll", "-c", str(config)).exit_code == 0
    sent = {h.json()["data"]["topic"] for h in hook.accepted()}
    assert sent == {"peace-council"}, "the muted topic's alert was sent"
    assert {a["topic"] for a in alert_log()} == {"trump-putin-summit", "peace-council"}
    lines = [
        json.loads(line) for line in cli("alerts", "-c", str(config), "--json").stdout.splitlines()
    ]
    muted = {a["topic"]: a.get("muted", False) for a in lines}
    assert muted == {"trump-putin-summit": True, "peace-council": False}
    plain = cli("alerts", "-c", str(config)).stdout.splitlines()
    assert [line.endswith("[muted]") for line in plain].count(True) == 1

    assert cli("unmute", "-c", str(config), "trump-putin-summit").exit_code == 0
    assert cli("mutes", "-c", str(config)).output.strip() == "no mutes"
    assert cli("unmute", "-c", str(config), "trump-putin-summit").exit_code == 2


def test_mute_a_story_by_its_alert_id_and_unknown_targets_are_refused(write_config, cli):
    config = write_config()
    now = datetime.now(UTC)
    raise_alerts(config, [topic_alert(7, now)])
    ok = cli("mute", "-c", str(config), "alert-007", "--for", "2h")
    assert ok.exit_code == 0, ok.output
    assert "muted story Story 7" in ok.output
    bad = cli("mute", "-c", str(config), "no-such-thing", "--for", "2h")
    assert bad.exit_code == 2 and "neither a configured topic" in bad.output
    assert cli("mute", "-c", str(config), "peace-council", "--for", "soon").exit_code == 2


def test_a_mute_expires_by_itself(write_config, hook):
    config = write_config(notify=[{"webhook": hook.url(), "name": "ops-hook"}])
    t0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    app = build_app(load_config(config))
    now = t0
    app.now = lambda: now
    try:
        storage.add_mute(
            app.engine,
            "topic",
            "trump-putin-summit",
            label="trump-putin-summit",
            reason="",
            now=t0,
            until=t0 + timedelta(hours=4),
        )
        now = t0 + timedelta(hours=1)
        raise_alerts(config, [topic_alert(1, now)])
        app.deliver(wait=True)
        assert hook.accepted() == []
        now = t0 + timedelta(hours=5)
        raise_alerts(config, [topic_alert(2, now)])
        app.deliver(wait=True)
        assert [h.json()["data"]["id"] for h in hook.accepted()] == ["alert-002"]
        assert storage.muted_alerts(app.engine, ["alert-001", "alert-002"]) == {"alert-001"}
        assert storage.active_mutes(app.engine, now) == []
    finally:
        app.close()
