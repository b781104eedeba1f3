"""The Apprise channel: any Apprise URL (Slack, Discord, Telegram, Matrix, ntfy …).

Sends the subject as title and the plain-text rendering as body, declared to Apprise
as text (``body_format=TEXT``), so that no service shows escapes: a service that
renders Markdown or HTML gets the text converted by Apprise for it, and every other
one shows it as written. A channel ``template`` replaces the body. Apprise reports only
success or failure, so every failure is retryable. Apprise URLs carry tokens: only
the scheme appears in messages. (Named apprise_channel so it cannot shadow the
library.)
"""

from __future__ import annotations

import warnings
from typing import Any

import apprise

from monitor.alerts.batch import Batch, batch_subject, render_batch_text
from monitor.alerts.message import render_text, subject
from monitor.alerts.templates import Renderer
from monitor.errors import DeliveryError
from monitor.types import Alert


def _quiet_imghdr() -> None:
    """Apprise loads its plugins on first use; its e-mail plugin imports ``imghdr`` (for
    pgpy), which Python 3.11 and 3.12 deprecate with a DeprecationWarning that names
    Apprise's module and is no concern of an operator's (``-W error`` made it fatal).
    Only that warning, from that import, is ignored; a filter (not a
    ``catch_warnings`` block, which is not thread-safe), added again by each channel
    in case something reset the filters since."""
    warnings.filterwarnings(
        "ignore",
        message=r"'imghdr' is deprecated",
        category=DeprecationWarning,
        module=r"apprise\.utils\.pgp$",
    )


class AppriseChannel:
    """Notifies one Apprise URL."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        topics: frozenset[str] | None = None,
        key: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.name = name
        self.key = key or name
        self.topics = topics
        self.renderer = renderer or Renderer()
        self.target = url.partition("://")[0] + "://…"
        _quiet_imghdr()
        self._apprise: Any = apprise.Apprise()
        if not self._apprise.add(url):
            raise ValueError(f"not a usable Apprise URL: {self.target}")

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        body = self.renderer.render_alert(alert)
        self._notify(
            subject(alert), body if body is not None else _without_title(render_text(alert))
        )

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None:
        body = self.renderer.render_batch(batch)
        text = body if body is not None else _without_title(render_batch_text(batch))
        self._notify(batch_subject(batch), text)

    def _notify(self, title: str, body: str) -> None:
        try:
            ok = self._apprise.notify(
                body=body or "-",
                title=title,
                body_format=apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:  # a plugin bug must not look like ours
            raise DeliveryError(
                f"apprise {self.target}: {type(exc).__name__}", retryable=True
            ) from exc
        if not ok:
            raise DeliveryError(f"apprise {self.target}: notification failed", retryable=True)

    def close(self) -> None:
        self._apprise.clear()


def _without_title(text: str) -> str:
    """The plain rendering less its first line (the title, sent as such) and the gap."""
    return text.partition("\n")[2].lstrip("\n")
