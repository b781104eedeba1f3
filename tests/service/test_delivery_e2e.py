"""Alert delivery end to end: `monitor poll`, `monitor deliver` and `monitor run` against
real receivers on 127.0.0.1 (HTTP webhook, Apprise json://, SMTP), configured through
`notify:` in a real configuration file."""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from tests.conftest import read_alert_log
from tests.support.daemon_support import LiveFeed
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss
from tests.support.receivers import SMTPServer, verify_standard_webhook

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The webhook secret reaches the configuration through ${WH_SECRET}."""
    monkeypatch.setenv("WH_SECRET", SECRET)
    return SECRET


def feed(httpserver: HTTPServer, path: str, items: list[Item], title: str = "Feed") -> str:
    httpserver.expect_request(path).respond_with_data(
        rss(items, title=title), content_type="application/rss+xml"
    )
    return httpserver.url_for(path)


def stored_alerts(cli: Callable[..., Result], config: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("alerts", "-c", str(config), "--json", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line]


def topic_ids(lines: list[dict[str, Any]]) -> set[str]:
    return {a["id"] for a in lines if a.get("kind", "topic") == "topic"}


def delivered_ids(hits: list[Any]) -> list[str]:
    return [h.json()["data"]["id"] for h in hits]


def test_webhook_refused_then_500_then_200_delivers_everything_once_with_one_id(
    httpserver, write_config, cli, alert_log, receivers, secret_env
):
    url = feed(httpserver, "/wire.xml", [SUMMIT_EN, PEACE_EN, OTHER_EN])
    hook = receivers()  # not started yet: its port refuses connections
    config = write_config(
        feeds=[{"name": "wire", "url": url, "language": "en"}],
        notify=[{"webhook": hook.url(), "secret": "${WH_SECRET}", "name": "ops-hook"}],
        # Every retry an hour away: only `monitor deliver` can send them today.
        delivery={"schedule": ["1h"] * 6},
    )

    polled = cli("poll", "-c", str(config))

    assert polled.exit_code == 0, polled.output
    logged = alert_log()
    assert len(topic_ids(logged)) == 2  # the log is its own channel: unaffected

    refused = cli("deliver", "-c", str(config))
    assert refused.exit_code == 1
    assert "ops-hook" in refused.stdout and "cannot connect" in refused.stdout

    hook.script = [500]
    hook.start()
    failing = cli("deliver", "-c", str(config))
    assert failing.exit_code == 1, failing.stdout
    assert "HTTP 500" in failing.stdout
    assert len(hook.all()) == 1  # the rest of the round waits instead of hammering it
    # One attempt was made and failed; both alerts still wait for that channel.
    assert "attempted 1 delivery" in failing.stdout and "1 failed (will retry)" in failing.stdout
    assert "pending now 2" in failing.stdout, failing.stdout

    fixed = cli("deliver", "-c", str(config))

    assert fixed.exit_code == 0, fixed.stdout
    assert "delivered 2" in fixed.stdout and "pending now 0" in fixed.stdout
    ok = hook.accepted()
    assert sorted(delivered_ids(ok)) == sorted(topic_ids(logged))
    # The request answered 500 and its successful retry carry the same webhook-id.
    first = hook.all()[0]
    assert first.status == 500
    retried = [h for h in ok if h.json()["data"]["id"] == first.json()["data"]["id"]]
    assert [h.headers["webhook-id"] for h in retried] == [first.headers["webhook-id"]]
    assert len({h.headers["webhook-id"] for h in ok}) == 2
    for hit in hook.all():
        verify_standard_webhook(secret_env, hit)
        assert hit.json()["type"] == "alert.created"
        assert hit.headers["content-type"] == "application/json"

    again = cli("deliver", "-c", str(config))
    assert again.exit_code == 0 and "delivered 0" in again.stdout
    assert len(hook.all()) == 3


def test_dead_letter_raises_an_operator_alert_and_deliver_revives_it(
    httpserver, write_config, cli, alert_log, receivers
):
    url = feed(httpserver, "/wire.xml", [SUMMIT_EN])
    hook = receivers()
    config = write_config(
        feeds=[{"name": "wire", "url": url}],
        notify=[{"webhook": hook.url(), "name": "ops-hook"}],
        delivery={"schedule": ["1h"]},
    )
    assert cli("poll", "-c", str(config)).exit_code == 0  # attempt 1 fails

    gave_up = cli("deliver", "-c", str(config))  # attempt 2 fails: the schedule is spent

    assert gave_up.exit_code == 1
    assert "dead 1" in gave_up.stdout
    titles = [a["title"] for a in alert_log() if a.get("kind") == "operator"]
    assert any("not delivered to ops-hook after 2 attempts" in t for t in titles), titles

    hook.start()
    kept = cli("deliver", "-c", str(config), "--no-dead")
    assert kept.exit_code == 1 and "dead letters 1" in kept.stdout
    # Only the operator alert about the dead letter went out (it was still pending).
    assert [h.json()["data"]["kind"] for h in hook.accepted()] == ["operator"]

    revived = cli("deliver", "-c", str(config))

    assert revived.exit_code == 0, revived.stdout
    assert SUMMIT_EN.title in [h.json()["data"]["title"] for h in hook.accepted()]


def test_one_failing_channel_never_blocks_another_and_topics_route(
    httpserver, write_config, cli, alert_log, receivers
):
    url = feed(httpserver, "/wire.xml", [SUMMIT_EN, PEACE_EN, OTHER_EN])
    down = receivers()
    ok = receivers().start()
    peace = receivers().start()
    config = write_config(
        feeds=[{"name": "wire", "url": url}],
        notify=[
            {"webhook": down.url(), "name": "down"},
            {"webhook": ok.url(), "name": "ok"},
            {"webhook": peace.url(), "name": "peace", "topics": ["peace-council"]},
        ],
        delivery={"schedule": ["1h"] * 3},
    )

    assert cli("poll", "-c", str(config)).exit_code == 0

    assert {a["topic"] for a in alert_log()} == {"trump-putin-summit", "peace-council"}
    assert sorted(h.json()["data"]["topic"] for h in ok.accepted()) == [
        "peace-council",
        "trump-putin-summit",
    ]
    assert [h.json()["data"]["topic"] for h in peace.accepted()] == ["peace-council"]
    report = cli("deliver", "-c", str(config))
    assert report.exit_code == 1 and "down:" in report.stdout
    assert "ok:" not in report.stdout and "peace:" not in report.stdout


def test_410_disables_the_endpoint_until_deliver_enables_it_again(
    httpserver, write_config, cli, alert_log, receivers
):
    url = feed(httpserver, "/wire.xml", [SUMMIT_EN, PEACE_EN])
    gone = receivers(default=410).start()
    feeds = [{"name": "wire", "url": url}]
    config = write_config(feeds=feeds, notify=[{"webhook": gone.url(), "name": "old-hook"}])

    assert cli("poll", "-c", str(config)).exit_code == 0

    assert len(gone.all()) == 1  # disabled at the first 410: the second alert is not sent
    operator = [a["title"] for a in stored_alerts(cli, config) if a.get("kind") == "operator"]
    assert any(
        "alert channel old-hook disabled" in t and "monitor deliver" in t for t in operator
    ), operator

    # A story raised while the channel is disabled is stored and logged, not sent.
    late = feed(
        httpserver,
        "/late.xml",
        [
            Item(
                title="Trump and Putin agree to meet again after Anchorage summit",
                link="https://news.example.org/world/summit-again",
            )
        ],
    )
    config = write_config(
        feeds=[*feeds, {"name": "late", "url": late}],
        notify=[{"webhook": gone.url(), "name": "old-hook"}],
    )
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert len(gone.all()) == 1
    missed = topic_ids(stored_alerts(cli, config))
    assert len(missed) == 3

    gone.default = 200  # the operator fixed the receiver
    report = cli("deliver", "-c", str(config))

    assert report.exit_code == 0, report.output
    assert "re-enabled old-hook" in report.stdout
    sent = delivered_ids(gone.accepted())
    assert topic_ids([h.json()["data"] for h in gone.accepted()]) == missed
    assert len(sent) == len(set(sent))
    again = cli("deliver", "-c", str(config))
    assert again.exit_code == 0 and "re-enabled" not in again.stdout
    assert len(gone.accepted()) == len(sent)  # nothing twice
    assert topic_ids(alert_log()) == missed  # the alert log had them all along


def test_email_421_then_accepted_and_apprise_json_reaches_the_receiver(
    httpserver, write_config, cli, alert_log, receivers, smtp
):
    url = feed(httpserver, "/wire.xml", [SUMMIT_EN])
    apprise_rx = receivers().start()
    smtp.handler.replies = ["421 4.3.2 Service not available, try later"]
    config = write_config(
        feeds=[{"name": "wire", "url": url}],
        smtp={
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from": "monitor@example.org",
        },
        notify=[
            {"email": "ops@example.org", "name": "mail"},
            {"apprise": f"json://127.0.0.1:{apprise_rx.port}/apprise", "name": "chat"},
        ],
        delivery={"schedule": ["1h"] * 3},
    )

    polled = cli("poll", "-c", str(config))

    assert polled.exit_code == 0
    assert smtp.handler.refused == 1 and smtp.handler.messages == []
    [note] = apprise_rx.accepted("/apprise")
    sent = note.json()
    assert "Trump" in sent["title"] and "Anchorage" in sent["message"]
    assert "news.example.org/world/trump-putin-anchorage" in sent["message"]

    retried = cli("deliver", "-c", str(config))

    assert retried.exit_code == 0, retried.stdout
    [message] = smtp.handler.messages
    [alert] = [a for a in alert_log() if a["topic"] == "trump-putin-summit"]
    assert message["Message-ID"] == f"<alert-{alert['id']}@example.org>"
    assert message["To"] == "ops@example.org"
    assert SUMMIT_EN.title in message["Subject"]
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "Anchorage" in plain.get_content() and "wire" in plain.get_content()
    assert 'href="https://news.example.org/world/trump-putin-anchorage"' in html.get_content()


def test_same_story_from_three_feeds_is_one_alert_listing_all_three(
    httpserver, write_config, cli, alert_log
):
    base = "https://news.example.org/world/trump-putin-anchorage"
    a = feed(
        httpserver,
        "/a.xml",
        [Item(SUMMIT_EN.title, base + "?utm_source=rss&utm_medium=a", SUMMIT_EN.description)],
    )
    b = feed(
        httpserver,
        "/b.xml",
        [Item(SUMMIT_EN.title, base + "?fbclid=XYZ&utm_campaign=b", SUMMIT_EN.description)],
    )
    # The same wire story under another outlet's URL and a slightly different headline.
    c = feed(
        httpserver,
        "/c.xml",
        [
            Item(
                "Trump and Putin meet for summit in Anchorage, Alaska",
                "https://other.example.net/2025/08/15/story-991",
                SUMMIT_EN.description,
            )
        ],
    )
    config = write_config(
        feeds=[{"name": n, "url": u, "language": "en"} for n, u in (("a", a), ("b", b), ("c", c))]
    )

    polled = cli("poll", "-c", str(config))

    assert polled.exit_code == 0
    [alert] = stored_alerts(cli, config)
    assert sorted(alert["feeds"]) == ["a", "b", "c"]
    assert alert["feed"] in ("a", "b", "c")
    # One `monitor poll` delivers after all feeds are stored: the line lists all three.
    [line] = alert_log()
    assert line["id"] == alert["id"] and sorted(line["feeds"]) == ["a", "b", "c"]
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert len(stored_alerts(cli, config)) == 1 and len(alert_log()) == 1


def test_alert_log_line_lists_the_feeds_known_when_it_was_first_delivered(
    httpserver, write_config, cli, alert_log
):
    base = "https://news.example.org/world/trump-putin-anchorage"
    a = feed(
        httpserver, "/a.xml", [Item(SUMMIT_EN.title, base + "?utm_source=a", SUMMIT_EN.description)]
    )
    c = feed(
        httpserver,
        "/c.xml",
        [
            Item(
                "Trump, Putin meet for Anchorage summit - Reuters",
                "https://wire.example.net/x/1",
                SUMMIT_EN.description,
            )
        ],
    )
    config = write_config(
        feeds=[{"name": "a", "url": a, "language": "en"}, {"name": "c", "url": c, "language": "en"}]
    )

    assert cli("poll", "-c", str(config), "--feed", "a").exit_code == 0
    assert cli("poll", "-c", str(config), "--feed", "c").exit_code == 0

    [alert] = stored_alerts(cli, config)
    assert alert["feeds"] == ["a", "c"]
    # Written once, at first delivery, before feed c carried the story.
    [line] = alert_log()
    assert line["feeds"] == ["a"]


def test_daemon_retries_a_webhook_until_it_recovers(
    httpserver, write_config, receivers, secret_env, tmp_path, daemons
):
    live = LiveFeed(httpserver, "/live.xml")
    live.items = [SUMMIT_EN, PEACE_EN, OTHER_EN]
    hook = receivers()
    config = write_config(
        feeds=[{"name": "live", "url": live.url, "interval": "1s"}],
        notify=[{"webhook": hook.url(), "secret": "${WH_SECRET}", "name": "hook"}],
        delivery={"schedule": ["1s"] * 30},
    )
    daemon = daemons(config)
    daemon.wait_for(
        lambda: any(e.get("event") == "alert_delivery_failed" for e in daemon.logs()),
        30,
        "a refused delivery",
    )
    hook.script = [500, 500]
    hook.start()

    daemon.wait_for(lambda: len(hook.accepted()) == 2, 30, "both alerts delivered")

    assert daemon.stop() == 0
    for hit in hook.all():
        verify_standard_webhook(secret_env, hit)
    ids_by_alert: dict[str, set[str]] = {}
    for hit in hook.all():
        ids_by_alert.setdefault(hit.json()["data"]["id"], set()).add(hit.headers["webhook-id"])
    assert len(ids_by_alert) == 2 and all(len(v) == 1 for v in ids_by_alert.values())
    assert [h.status for h in hook.all()][:2] == [500, 500]


def test_feed_down_after_three_failing_attempts_and_recovered_reach_every_channel(
    httpserver, write_config, cli, alert_log, receivers
):
    """Down once it has failed for ``feed_down_after`` over at least 3 attempts (SPEC.md,
    "Timeliness and health"); here the duration is 1 ms, so the attempts decide (the
    duration is tested on a stepped clock in tests/feedstate/test_feedhealth.py)."""
    state = {"fail": True}

    def handler(_request: Any) -> Any:
        from werkzeug import Response

        if state["fail"]:
            return Response("overloaded", status=503)
        return Response(rss([OTHER_EN]), content_type="application/rss+xml")

    httpserver.expect_request("/flaky.xml").respond_with_handler(handler)
    hook = receivers().start()
    config = write_config(
        feeds=[{"name": "flaky", "url": httpserver.url_for("/flaky.xml")}],
        notify=[{"webhook": hook.url(), "name": "ops-hook", "topics": ["peace-council"]}],
        feed_down_after="1ms",  # down as soon as it has failed 3 times
    )

    for _ in range(2):
        assert cli("poll", "-c", str(config)).exit_code == 0  # per-feed failure: exit 0
    assert alert_log() == []
    assert cli("poll", "-c", str(config)).exit_code == 0  # the third failing attempt
    assert cli("poll", "-c", str(config)).exit_code == 0  # a fourth says nothing new

    [down] = alert_log()
    assert down["kind"] == "operator" and down["topic"] == "monitor:feed-down"
    assert down["title"].startswith("feed down: flaky: ") and "503" in down["title"]
    state["fail"] = False
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert cli("poll", "-c", str(config)).exit_code == 0

    titles = [a["title"] for a in alert_log()]
    assert titles[1:] == ["feed recovered: flaky"]
    # Operator alerts go to every channel, whatever its topics.
    assert [h.json()["data"]["title"] for h in hook.accepted()] == titles
    assert cli("deliver", "-c", str(config)).exit_code == 0


def test_a_hanging_webhook_does_not_hold_up_the_alert_log_or_polling(
    httpserver, write_config, receivers, tmp_path, daemons
):
    live = LiveFeed(httpserver, "/live.xml")
    live.items = [SUMMIT_EN]
    hanging = receivers(delay=30).start()  # reads the request, answers after 30 s
    config = write_config(
        feeds=[{"name": "live", "url": live.url, "interval": "1s"}],
        notify=[{"webhook": hanging.url(), "name": "hanging", "timeout": "10s"}],
        delivery={"schedule": ["1s"] * 30},
    )
    log = tmp_path / "alerts.jsonl"
    daemon = daemons(config)
    daemon.wait_for(lambda: len(hanging.all()) == 1, 30, "the webhook to be hanging")

    live.items = [SUMMIT_EN, PEACE_EN]
    daemon.wait_for(
        lambda: "peace-council" in [a["topic"] for a in read_alert_log(log)],
        60,
        "the second alert in the log",
    )

    # An order, not a time: the second alert reached the log while the webhook still
    # holds the first request unanswered (it answers after 30 s).
    assert len(hanging.all()) == 1
    assert not any(
        e.get("event") == "alert_delivered" and e.get("channel") == "hanging" for e in daemon.logs()
    )
    assert daemon.stop() == 0


def test_logrotate_move_and_sighup_the_next_alert_goes_to_a_new_file(
    httpserver, write_config, tmp_path, daemons
):
    live = LiveFeed(httpserver, "/live.xml")
    live.items = [SUMMIT_EN]
    config = write_config(feeds=[{"name": "live", "url": live.url, "interval": "1s"}])
    log = tmp_path / "alerts.jsonl"
    daemon = daemons(config)
    daemon.wait_for(lambda: len(read_alert_log(log)) == 1, 30, "the first alert")

    rotated = tmp_path / "alerts.jsonl.1"
    log.rename(rotated)  # what logrotate does, then it sends SIGHUP
    daemon.proc.send_signal(signal.SIGHUP)
    live.items = [SUMMIT_EN, PEACE_EN]
    daemon.wait_for(lambda: len(read_alert_log(log)) == 1, 15, "the alert in the new file")

    assert daemon.stop() == 0
    assert [a["topic"] for a in read_alert_log(rotated)] == ["trump-putin-summit"]
    assert [a["topic"] for a in read_alert_log(log)] == ["peace-council"]


def _backlog(port: int) -> float | None:
    import re
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found = re.search(r"^monitor_outbox_backlog (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_outbox_backlog_returns_to_zero_once_a_burst_is_delivered(
    httpserver, write_config, receivers, daemons
):
    from tests.support.ports import free_port

    titles = [  # twelve different stories (near-identical headlines would be one story)
        "Trump meets Putin at Anchorage summit",
        "Putin lands in Alaska for summit with Trump",
        "Summit: Trump says Putin talks were productive",
        "Kremlin: Putin and Trump discussed Ukraine at the summit",
        "Trump-Putin summit ends without ceasefire deal",
        "Putin invites Trump to Moscow after Alaska summit",
        "Zelensky reacts to Trump Putin summit outcome",
        "Markets rally on Trump and Putin summit hopes",
        "Protesters gather outside Trump Putin summit venue",
        "Putin praises Trump hospitality at summit dinner",
        "Europe leaders call Trump before Putin summit",
        "Trump Putin summit press conference lasts twelve minutes",
    ]
    burst = [
        Item(title=title, link=f"https://news.example.org/summit/{n}")
        for n, title in enumerate(titles)
    ]
    live = LiveFeed(httpserver, "/burst.xml")
    live.items = burst
    hook = receivers(delay=0.2)
    hook.start()
    port = free_port()
    config = write_config(
        feeds=[{"name": "live", "url": live.url, "interval": "1s"}],
        notify=[{"webhook": hook.url(), "name": "hook"}],
        http={"allow_private_networks": True, "listen": f"127.0.0.1:{port}"},
    )
    daemon = daemons(config)
    daemon.wait_for(lambda: len(hook.accepted()) >= 1, 60, "the first delivery")

    # Deliveries finish after the round that handed them out: the gauge must follow,
    # and stay exact while idle rounds have nothing to do.
    daemon.wait_for(lambda: len(hook.accepted()) >= 12, 60, "the whole burst delivered")
    daemon.wait_for(lambda: _backlog(port) == 0, 60, "monitor_outbox_backlog back to 0")
    assert len({h.json()["data"]["id"] for h in hook.accepted()}) == 12
    assert daemon.stop() == 0
