"""The Apprise channel: any Apprise URL (Slack, Discord, Telegram, Matrix, ntfy …).

Sends the subject as title and the Markdown rendering as body. Apprise reports only
success or failure, so every failure is retryable. Apprise URLs carry tokens: only
the scheme appears in messages. (Named apprise_channel so it cannot shadow the
library.)
"""

from __future__ import annotations

from typing import Any

import apprise

from monitor.alerts.message import escape_markdown, render_markdown, subject
from monitor.errors import DeliveryError
from monitor.types import Alert


class AppriseChannel:
    """Notifies one Apprise URL."""

    def __init__(self, name: str, url: str, *, topics: frozenset[str] | None = None) -> None:
        self.name = name
        self.topics = topics
        self.target = url.partition("://")[0] + "://…"
        self._apprise: Any = apprise.Apprise()
        if not self._apprise.add(url):
            raise ValueError(f"not a usable Apprise URL: {self.target}")

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        try:
            ok = self._apprise.notify(
                body=render_markdown(alert),
                title=escape_markdown(subject(alert)),
                body_format=apprise.NotifyFormat.MARKDOWN,
            )
        except Exception as exc:  # a plugin bug must not look like ours
            raise DeliveryError(
                f"apprise {self.target}: {type(exc).__name__}", retryable=True
            ) from exc
        if not ok:
            raise DeliveryError(f"apprise {self.target}: notification failed", retryable=True)

    def close(self) -> None:
        self._apprise.clear()
