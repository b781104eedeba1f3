"""Alerts about the monitor itself: feed down / recovered / gone, dead letters, disabled
channels.

Pure: the kind, the feed (or channel) and ``now`` in, an :class:`~monitor.types.Alert`
out, with ``kind="operator"`` and a ``monitor:…`` topic. Deciding *when* to raise one is
the caller's (:mod:`monitor.feedstate` for feeds, the delivery loop for channels);
storing and delivering it is storage's and the outbox's.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from monitor.types import Alert

OPERATOR_TOPIC = "monitor"


def operator_alert(kind: str, feed: str, title: str, now: datetime) -> Alert:
    """An alert about the monitor itself, delivered to every channel."""
    digest = hashlib.sha256(f"{kind}\n{feed}\n{now.isoformat()}".encode()).hexdigest()[:32]
    return Alert(
        id=digest,
        kind="operator",
        topic=f"{OPERATOR_TOPIC}:{kind}",
        topic_name=f"monitor: {kind.replace('-', ' ')}",
        title=title,
        url=None,
        feed=feed,
        published=now,
        detected_at=now,
        evidence=(),
        feeds=(feed,),
    )
