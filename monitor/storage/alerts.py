"""Reading stored alerts for `monitor alerts` (filters, --follow)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.storage.articles import row_to_alert
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
    """(seq, alert), oldest first; ``limit`` keeps the newest N."""
    query = select(AlertRow.__table__)
    if topic is not None:
        query = query.where(AlertRow.topic == topic)
    if feed is not None:
        query = query.where(AlertRow.feed == feed)
    if since is not None:
        query = query.where(AlertRow.detected_at >= since)
    if after_seq is not None:
        query = query.where(AlertRow.seq > after_seq)
    query = query.order_by(AlertRow.seq.desc(), AlertRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(int(r.seq), row_to_alert(r)) for r in reversed(rows)]
