"""`notify[].rate` end to end: a burst of 100 alerts to a real webhook on 127.0.0.1 over
a stepped clock: everything delivered, at most the rate plus one summary per window."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from monitor.config.load import load_config
from monitor.service.app import build_app
from tests.support.alerting import raise_alerts, topic_alert

T0 = datetime(2026, 12, 7, 10, 0, 5, tzinfo=UTC)


def test_burst_of_100_alerts_is_all_delivered_at_most_rate_plus_one_summary_per_window(
    write_config, hook
):
    config = write_config(notify=[{"webhook": hook.url(), "name": "ops-hook", "rate": "10/m"}])
    raise_alerts(config, [topic_alert(n, T0) for n in range(100)])
    app = build_app(load_config(config))
    now = T0
    app.now = lambda: now
    windows: Counter[int] = Counter()
    try:
        for step in range(6):  # a round every 20 s for two minutes
            now = T0 + timedelta(seconds=20 * step)
            before = len(hook.accepted())
            app.deliver(due_only=True, wait=True)
            windows[int(now.timestamp() // 60)] += len(hook.accepted()) - before
    finally:
        app.close()
    bodies = [h.json() for h in hook.accepted()]
    singles = [b["data"]["id"] for b in bodies if b["type"] == "alert.created"]
    summaries = [b for b in bodies if b["type"] == "alert.batch"]
    assert len(singles) == 10
    assert len(summaries) == 1 and summaries[0]["data"]["count"] == 90
    held = [a["id"] for a in summaries[0]["data"]["alerts"]]
    assert sorted(singles + held) == sorted(f"alert-{n:03d}" for n in range(100))
    assert max(windows.values()) <= 10 + 1
    assert summaries[0]["data"]["period_start"] == "2026-12-07T10:01:00Z"
    ids = [h.headers["webhook-id"] for h in hook.accepted()]
    assert len(set(ids)) == len(ids) == 11


def test_replay_alert_respects_the_rate(httpserver, write_config, cli, hook):
    """The issue: `monitor replay --apply --alert` fired 109 webhooks at once."""
    import random
    import string

    from tests.support.feedgen import Item, rss

    rng = random.Random(13)

    def words() -> str:
        return " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(6))

    items = [
        Item(
            title=words(),
            link=f"https://example.org/a/{n}",
            description=f"Report {n}: Trump and Putin will meet in Anchorage.",
        )
        for n in range(25)
    ]
    httpserver.expect_request("/wire.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    feeds = [{"name": "wire", "url": httpserver.url_for("/wire.xml")}]
    config = write_config(feeds=feeds, topics=[])
    assert cli("poll", "-c", str(config)).exit_code == 0  # stored, no topics yet
    config = write_config(
        feeds=feeds, notify=[{"webhook": hook.url(), "name": "ops-hook", "rate": "5/h"}]
    )
    result = cli("replay", "-c", str(config), "--apply", "--alert")
    assert result.exit_code == 0, result.output
    assert "alerts raised" in result.output
    raised = int(result.output.split(" alerts raised")[0].rsplit(" ", 1)[1])
    assert raised > 5
    assert len(hook.accepted()) == 5
    assert all(h.json()["type"] == "alert.created" for h in hook.accepted())


def test_rows_stored_under_an_old_channel_name_still_deliver_once(write_config, hook):
    """Before readable names, a `name:` was the outbox key: those rows are adopted by the
    channel's stable key at start, delivered once, and a later rename changes nothing."""
    from monitor.storage.alert_rows import insert_alert
    from monitor.storage.database import write_transaction

    config = write_config(notify=[{"webhook": hook.url(), "name": "ops-hook"}])
    cfg = load_config(config)
    app = build_app(cfg)
    try:
        alert = topic_alert(1, T0)
        with write_transaction(app.engine) as conn:  # as the previous version stored it
            insert_alert(
                conn,
                alert,
                story=alert.id,
                title_key="",
                language=None,
                article_id=None,
                channels=(("ops-hook", None),),
                now=T0,
            )
    finally:
        app.close()
    app = build_app(cfg)  # a restart on the new version
    app.now = lambda: T0
    try:
        app.deliver(wait=True)
    finally:
        app.close()
    renamed = write_config(notify=[{"webhook": hook.url(), "name": "renamed-hook"}])
    app = build_app(load_config(renamed))
    app.now = lambda: T0 + timedelta(minutes=5)
    try:
        app.deliver(due_only=False, wait=True)
    finally:
        app.close()
    assert [h.json()["data"]["id"] for h in hook.accepted()] == ["alert-001"]
