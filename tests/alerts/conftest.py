"""Shared pieces of the channel tests: alerts, the webhook receiver of tests/support."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from monitor.types import Alert, Evidence
from tests.support.receivers import WebhookReceiver


def make_alert(alert_id: str = "a1", **changes: object) -> Alert:
    values: dict[str, object] = {
        "id": alert_id,
        "topic": "trump-putin-summit",
        "topic_name": "Trump–Putin summit",
        "title": "Trump and Putin meet in Anchorage",
        "url": "https://example.org/news/1",
        "feed": "tass-en",
        "feeds": ("tass-en", "dw-en"),
        "published": datetime(2025, 8, 15, 18, 2, tzinfo=UTC),
        "detected_at": datetime(2025, 8, 15, 18, 3, 11, tzinfo=UTC),
        "evidence": (Evidence("Anchorage", "title", 27, "…meet in Anchorage…"),),
    }
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


@pytest.fixture
def receiver(receivers: Callable[..., WebhookReceiver]) -> WebhookReceiver:
    """A receiver on a free port, not yet started (so a test can see refused connects)."""
    return receivers()


@pytest.fixture
def alert_factory() -> Callable[..., Alert]:
    """``alert_factory("id", title=...)``: an Alert with sensible defaults."""
    return make_alert
