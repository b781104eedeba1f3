"""Whether the monitor sees anything at all: "blind" when no enabled feed has been
polled successfully for ``health.blind_after`` (a dead network, a broken proxy, a
firewall change), "sighted" again once one is.

Pure: the newest success, since when this process has been watching, ``now`` and the
limit in; the sight and, when it changes, the operator alert to raise out. A blind
monitor is loud: the operator alert ``monitor:blind`` once per blindness,
``monitor:sighted`` when polls succeed again, and ``/healthz`` answering 503. The ids
of both alerts come from the last success, so several workers (or a restarted one)
raise each alert once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.alerts.operator import operator_alert
from monitor.types import Alert


class Sight(StrEnum):
    SIGHTED = "sighted"
    BLIND = "blind"


@dataclass(frozen=True, slots=True)
class SightCheck:
    sight: Sight
    since: datetime
    """The last success (or the start of watching): blind since this plus the limit."""
    alert: Alert | None = None
    """The operator alert of a change of sight, if this check changed it."""


def check_sight(
    previous: Sight,
    *,
    last_success: datetime | None,
    watching_since: datetime,
    enabled_feeds: int,
    now: datetime,
    blind_after: timedelta,
) -> SightCheck:
    """The sight now, and the alert to raise if it changed from ``previous``.

    With no enabled feed there is nothing to see: never blind. Before any success,
    the clock runs from ``watching_since`` (the daemon's start).
    """
    since = max(last_success, watching_since) if last_success else watching_since
    blind = enabled_feeds > 0 and now - since >= blind_after
    sight = Sight.BLIND if blind else Sight.SIGHTED
    if sight is previous:
        return SightCheck(sight, since)
    if sight is Sight.BLIND:
        minutes = round((now - since).total_seconds() / 60)
        alert = operator_alert(
            "blind",
            "",
            f"monitor blind: no feed of {enabled_feeds} polled successfully for {minutes} min "
            "(network, DNS, proxy or firewall?)",
            since,
        )
    else:
        alert = operator_alert(
            "sighted", "", "monitor sighted again: feeds are polled successfully", since
        )
    # The id comes from ``since`` (one alert per blindness, whoever raises it); the
    # alert itself is dated when it was noticed.
    return SightCheck(sight, since, replace(alert, detected_at=now, published=now, feeds=()))
