"""Signal alerts (surge, confirmation) on channels with a digest: they wait for the
digest like topic alerts; only operator alerts go at once (README, "Delivery")."""

from __future__ import annotations

import json
from typing import Any

from tests.signals.conftest import SUMMIT, Newsroom, step
from tests.signals.test_surge_hot import STORIES
from tests.support.receivers import WebhookReceiver


def test_a_surge_alert_waits_for_the_digest_and_is_in_it(
    newsroom: Newsroom, signals_app: Any, hook: WebhookReceiver
) -> None:
    topic = SUMMIT | {"surge": {"factor": 5, "window": "1h", "min": 3}}
    app = signals_app(
        ["reuters"], topic, notify=[{"webhook": hook.url(), "name": "desk", "digest": "1h"}]
    )
    for n, title in enumerate(STORIES[:3]):
        newsroom.carry("reuters", title, f"s{n}")
    app.poll()
    app.deliver()
    assert hook.all() == [], "nothing is sent before the digest's period ends"

    step(newsroom, hours=1, minutes=1)
    app.deliver()
    (digest,) = [h.json() for h in hook.accepted()]
    assert digest["type"] == "alert.digest"
    kinds = sorted(a["kind"] for a in digest["data"]["alerts"])
    assert kinds == ["surge", "topic", "topic", "topic"], "each alert in the digest, once"


def test_a_confirmation_follow_up_waits_for_the_digest(
    newsroom: Newsroom, signals_app: Any, hook: WebhookReceiver
) -> None:
    topic = SUMMIT | {"notify_confirmation": True}
    app = signals_app(
        ["tass-en", "reuters"],
        topic,
        notify=[{"webhook": hook.url(), "name": "desk", "digest": "1h"}],
    )
    newsroom.carry("tass-en", STORIES[0], "a1")
    app.poll()
    step(newsroom, minutes=5)
    newsroom.carry("reuters", STORIES[0], "b1")
    app.poll()
    app.deliver()
    assert hook.all() == [], "the follow-up waits for the digest like its story's alert"
    step(newsroom, hours=1, minutes=1)
    app.deliver()
    (digest,) = [h.json() for h in hook.accepted()]
    assert sorted(a["kind"] for a in digest["data"]["alerts"]) == ["confirmation", "topic"]


def test_every_alert_has_one_outlets_shape_in_the_log_the_cli_and_the_webhook(
    newsroom: Newsroom, signals_app: Any, hook: WebhookReceiver, cli: Any
) -> None:
    """Issues 13 and 17 both added ``outlets``: one shape everywhere; a surge names no
    story, so no outlet (not a feed called "")."""
    topic = SUMMIT | {"surge": {"factor": 5, "window": "1h", "min": 2}}
    app = signals_app(["tass-en", "tass-world", "reuters"], topic, notify=[{"webhook": hook.url()}])
    newsroom.carry("tass-en", STORIES[0], "t1")
    newsroom.carry("tass-world", STORIES[0], "t1")
    newsroom.carry("reuters", STORIES[1], "r1")
    app.poll()
    app.deliver()
    keys = {"outlet", "kind", "country", "feed", "at"}
    sent = {h.json()["data"]["id"]: h.json()["data"] for h in hook.accepted()}
    listed = {
        a["id"]: a
        for a in map(
            json.loads, cli("alerts", "-c", str(newsroom.config), "--json").stdout.split("\n")[:-1]
        )
    }
    assert set(sent) == set(listed) and len(sent) == 3
    for alert in [*sent.values(), *listed.values()]:
        assert "first_reported_by" in alert
        assert all(set(o) == keys for o in alert["outlets"]), alert["outlets"]
        if alert["kind"] == "surge":
            assert alert["outlets"] == [] and alert["first_reported_by"] is None
            assert alert["feeds"] == []
        else:
            assert alert["first_reported_by"] == alert["outlets"][0]["outlet"]
    tass = next(a for a in sent.values() if "tass-en" in a["feeds"])
    assert [o["outlet"] for o in tass["outlets"]] == ["TASS"], "two feeds, one outlet"
    assert tass["first_reported_by"] == "TASS"
