"""Alerts: whether a match becomes one (:mod:`~monitor.alerts.policy`, pure), when two
titles are one story (:mod:`~monitor.alerts.stories`), the alerts about the monitor
itself (:mod:`~monitor.alerts.operator`), and the channels alerts go to (log file,
webhook, e-mail, Apprise, stdout).

The public surface the pipeline, storage and the outbox code against, imported lazily
so that using the alert log alone does not import httpx and Apprise. Storing, claiming
and retrying deliveries is not here (the outbox does it); :func:`retry_delay` only
computes waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.alerts.base import Channel, ChannelConfigError, ChannelProblem, build_channels
    from monitor.alerts.logfile import AlertLog
    from monitor.alerts.message import render_html, render_markdown, render_text, subject
    from monitor.alerts.operator import operator_alert
    from monitor.alerts.policy import (
        AlertPolicy,
        StoryDecision,
        StoryOutcome,
        decide_match,
        matched_article,
    )
    from monitor.alerts.retry import retry_delay

_HOMES = {
    "AlertLog": "logfile",
    "AlertPolicy": "policy",
    "StoryDecision": "policy",
    "StoryOutcome": "policy",
    "decide_match": "policy",
    "matched_article": "policy",
    "operator_alert": "operator",
    "Channel": "base",
    "ChannelConfigError": "base",
    "ChannelProblem": "base",
    "build_channels": "base",
    "render_html": "message",
    "render_markdown": "message",
    "render_text": "message",
    "retry_delay": "retry",
    "subject": "message",
}
__all__ = [
    "AlertLog",
    "AlertPolicy",
    "Channel",
    "ChannelConfigError",
    "ChannelProblem",
    "StoryDecision",
    "StoryOutcome",
    "build_channels",
    "decide_match",
    "matched_article",
    "operator_alert",
    "render_html",
    "render_markdown",
    "render_text",
    "retry_delay",
    "subject",
]


__getattr__ = lazy_getattr(__name__, _HOMES)
