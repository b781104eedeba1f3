"""Alert channels: where alerts go (log file, webhook, e-mail, Apprise, stdout).

The public surface the outbox codes against. Storing, claiming and retrying
deliveries is not here (the outbox does it); :func:`retry_delay` only computes waits.
"""

from __future__ import annotations

from monitor.alerts.base import Channel, accepts, build_channels
from monitor.alerts.logfile import AlertLog
from monitor.alerts.message import render_html, render_markdown, render_text, subject
from monitor.alerts.retry import retry_delay

__all__ = [
    "AlertLog",
    "Channel",
    "accepts",
    "build_channels",
    "render_html",
    "render_markdown",
    "render_text",
    "retry_delay",
    "subject",
]
