"""Digests end to end: `notify[].digest` over a stepped clock, a real worker subprocess
SIGKILLed in the middle of a period and in the middle of sending, real receivers (a
webhook on 127.0.0.1, Apprise json:// to a local server, aiosmtpd)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.naming import channel_names
from monitor.alerts.policy import AlertPolicy
from monitor.config.load import load_config
from monitor.storage import open_database
from monitor.storage.story_alerts import save_operator_alert
from monitor.types import Alert
from tests.support.alerting import raise_alerts, topic_alert
from tests.support.receivers import SMTPServer, WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``check()`` is truthy (a subprocess is doing the work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class Worker:
    """tests/support/delivery_worker.py as a real process on the test's clock file."""

    def __init__(self, config: Path, clock: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.delivery_worker", str(config), str(clock)],
            stdout=subprocess.PIPE,
            stderr=config.with_suffix(".stderr").open("ab"),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == b"ready"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def workers() -> Iterator[Callable[[Path, Path], Worker]]:
    started: list[Worker] = []

    def start(config: Path, clock: Path) -> Worker:
        worker = Worker(config, clock)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.kill()


def set_clock(clock: Path, now: datetime) -> None:
    tmp = clock.with_suffix(".tmp")
    tmp.write_text(now.isoformat())
    tmp.replace(clock)


def digests(hits: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """webhook-id → the bodies received with it."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hit in hits:
        found[hit.headers["webhook-id"]].append(hit.json())
    return found


def digest_chats(chat: WebhookReceiver) -> list[dict[str, Any]]:
    return [h.json() for h in chat.accepted() if "digest" in h.json()["title"]]


def digest_mails(smtp: SMTPServer) -> list[Any]:
    return [m for m in smtp.handler.messages if "digest" in m["Subject"]]


@pytest.mark.slow
def test_digest_survives_sigkill_mid_period_and_mid_send_each_alert_in_exactly_one(
    tmp_path, write_config, workers, receivers
):
    hook = receivers().start()
    chat = receivers().start()  # Apprise's json:// posts here
    smtp = SMTPServer().start()
    try:
        config = write_config(
            smtp={"host": "127.0.0.1", "port": smtp.port, "security": "none"},
            notify=[
                {"webhook": hook.url(), "name": "ops-hook", "digest": "1h"},
                {"apprise": f"json://127.0.0.1:{chat.port}/chat", "digest": "1h"},
                {"email": "ops@example.org", "digest": "1h"},
            ],
        )
        clock = tmp_path / "clock"
        set_clock(clock, T0)
        worker = workers(config, clock)

        # Period 10:00–11:00: five alerts; the worker is killed in the middle of it.
        first = [topic_alert(n, T0 + timedelta(minutes=5 + 10 * n)) for n in range(3)]
        raise_alerts(config, first)
        set_clock(clock, T0 + timedelta(minutes=30))
        time.sleep(0.5)  # rounds run meanwhile: nothing may be sent before the period ends
        assert hook.all() == [] and chat.all() == [] and smtp.handler.messages == []
        worker.kill()
        late = [topic_alert(n, T0 + timedelta(minutes=15 + 10 * n)) for n in range(3, 5)]
        raise_alerts(config, late)  # written while no worker runs
        # An operator alert is never held for a digest.
        save_operator_alert(
            open_database(load_config(config).database),
            Alert(
                id="op-1",
                kind="operator",
                topic="monitor:feed-down",
                topic_name="monitor: feed down",
                title="feed down: tass-en",
                url=None,
                feed="tass-en",
                published=None,
                detected_at=T0 + timedelta(minutes=50),
                evidence=(),
            ),
            AlertPolicy(
                channels=tuple((n.key, None) for n in channel_names(load_config(config).notify))
            ),
            T0 + timedelta(minutes=50),
        )
        set_clock(clock, T0 + timedelta(minutes=50))
        worker = workers(config, clock)
        single = wait_for(
            lambda: [h for h in hook.accepted() if h.json()["type"] == "alert.created"]
        )
        assert [h.json()["data"]["id"] for h in single] == ["op-1"]

        # The period ends; the worker is killed while the webhook digest is being sent.
        hook.delay = 3.0
        set_clock(clock, T0 + timedelta(hours=1, seconds=1))
        wait_for(lambda: [h for h in hook.all() if h.json()["type"] == "alert.digest"])
        worker.kill()
        hook.delay = 0.0
        worker = workers(config, clock)
        wait_for(lambda: len([h for h in hook.all() if h.json()["type"] == "alert.digest"]) >= 2)
        wait_for(lambda: len(digest_mails(smtp)) >= 1 and len(digest_chats(chat)) >= 1)

        # Period 11:00–12:00: two alerts; 12:00–13:00: none (nothing is sent for it).
        second = [topic_alert(n, T0 + timedelta(hours=1, minutes=10 * n - 40)) for n in (5, 6)]
        raise_alerts(config, second)
        set_clock(clock, T0 + timedelta(hours=2, seconds=1))
        wait_for(
            lambda: len(digests(h for h in hook.all() if h.json()["type"] == "alert.digest")) >= 2
        )
        wait_for(lambda: len(digest_mails(smtp)) >= 2 and len(digest_chats(chat)) >= 2)
        set_clock(clock, T0 + timedelta(hours=3, seconds=1))
        time.sleep(0.5)
        worker.kill()

        sent = digests([h for h in hook.all() if h.json()["type"] == "alert.digest"])
        assert len(sent) == 2, "one digest per non-empty period, none for the empty one"
        # A digest resent after the kill carries the same id and the same alerts.
        contents = {
            digest_id: {tuple(a["id"] for a in body["data"]["alerts"]) for body in bodies}
            for digest_id, bodies in sent.items()
        }
        assert all(len(c) == 1 for c in contents.values())
        per_digest = [next(iter(c)) for c in contents.values()]
        every = [alert_id for ids in per_digest for alert_id in ids]
        expected = {a.id for a in first + late + second}
        assert sorted(every) == sorted(expected), "each alert in exactly one digest, none lost"
        assert {len(ids) for ids in per_digest} == {5, 2}
        first_digest = next(b for b in sent.values() if b[0]["data"]["count"] == 5)[0]
        assert first_digest["data"]["channel"] == "ops-hook"
        assert first_digest["data"]["period_start"] == "2026-12-07T10:00:00Z"
        assert first_digest["data"]["alerts"][0]["outlets"] == [
            {
                "outlet": "tass-en",
                "kind": None,
                "country": None,
                "feed": "tass-en",
                "at": "2026-12-07T10:05:00Z",
            }
        ]

        # Apprise: plain text, title and grouped stories, nothing escaped.
        chat_bodies = digest_chats(chat)
        assert len({b["title"] for b in chat_bodies}) == 2
        assert any(h.json()["title"] == "[monitor] feed down: tass-en" for h in chat.accepted())
        five = next(b for b in chat_bodies if "5 alerts" in b["title"])
        assert five["title"].startswith("[monitor] digest: 5 alerts in 1 topic")
        assert "Trump–Putin summit (5)" in five["message"]
        assert "- Story 0: Trump and Putin <b>meet</b> in Anchorage" in five["message"]
        assert "Outlets: tass-en (2026-12-07T10:05:00Z)" in five["message"]
        assert "\\" not in five["message"]
        # E-mail: a plain-text and an HTML part; the feed's markup escaped in HTML.
        mails = digest_mails(smtp)
        assert len({m["Message-ID"] for m in mails}) == 2
        mail = next(m for m in mails if "5 alerts" in m["Subject"])
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Story 4: Trump and Putin <b>meet</b> in Anchorage" in text
        assert "Story 4: Trump and Putin &lt;b&gt;meet&lt;/b&gt; in Anchorage" in html
        assert "op-1" not in text
    finally:
        smtp.stop()
