"""Reading stored alerts for `monitor alerts` (filters, --follow)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import String, cast, or_, select
from sqlalchemy.engine import Engine

from monitor.storage.alert_rows import row_to_alert
from monitor.storage.database import translates_errors
from monitor.storage.models import AlertRow
from monitor.types import Alert


@translates_errors
def list_alerts(
    engine: Engine,
    *,
    topic: str | None = None,
    feed: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    after_seq: int | None = None,
) -> list[tuple[int, Alert]]:
    """(seq, alert), oldest first; ``limit`` keeps the newest N.

    ``feed`` selects the alerts of every story that feed carried, whether it raised the
    alert or reported the story after another feed did (the alert's ``feeds``).
    """
    # A story held for confirmation is not an alert (yet): it is listed once released.
    query = select(AlertRow.__table__).where(AlertRow.state.is_(None))
    if topic is not None:
        query = query.where(AlertRow.topic == topic)
    if feed is not None:
        # The feed list is JSON (one portable column on SQLite and PostgreSQL): the text
        # search narrows the rows, the exact test on the decoded list decides.
        query = query.where(
            or_(
                AlertRow.feed == feed,
                cast(AlertRow.feeds, String).contains(json.dumps(feed), autoescape=True),
            )
        )
    if since is not None:
        query = query.where(AlertRow.detected_at >= since)
    if after_seq is not None:
        query = query.where(AlertRow.seq > after_seq)
    query = query.order_by(AlertRow.seq.desc(), AlertRow.id.desc())
    if limit is not None and feed is None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    alerts = [(int(r.seq), row_to_alert(r)) for r in reversed(rows)]
    if feed is not None:
        alerts = [(seq, a) for seq, a in alerts if a.feed == feed or feed in a.feeds]
        if limit is not None:
            alerts = alerts[-limit:] if limit > 0 else []
    return alerts


@translates_errors
def last_sight_topic(engine: Engine) -> str | None:
    """The topic of the newest ``monitor:blind`` or ``monitor:sighted`` alert (None when
    the monitor never was blind): a daemon starting during an outage it already
    alerted goes on from there instead of alerting it again or never saying "sighted"."""
    query = (
        select(AlertRow.topic)
        .where(AlertRow.topic.in_(("monitor:blind", "monitor:sighted")))
        .order_by(AlertRow.seq.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        topic = conn.execute(query).scalar()
    return str(topic) if topic is not None else None
