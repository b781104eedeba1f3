"""Reading stored alerts for `monitor alerts` (filters, --follow), the console's feed of
alerts and the daemon's start.

Plain SQL on a :class:`~monitor.storage.reader.Reader` (or an Engine's connection), so
`monitor alerts` reads without importing SQLAlchemy; the columns are those of
``AlertRow`` in :mod:`monitor.storage.models`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.storage.alert_values import row_to_alert
from monitor.storage.reader import Reader, reading
from monitor.types import Alert

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_COLUMNS = (
    "id, seq, kind, topic, topic_name, title, summary, url, feed, feeds, published, "
    "detected_at, evidence, outlets, confirmed_by, confirmed_at"
)
_TIMES = ("published", "detected_at", "confirmed_at")
_JSONS = ("feeds", "evidence", "outlets", "confirmed_by")


def _like_escaped(text: str) -> str:
    """``text`` for ``LIKE … ESCAPE '/'``, as SQLAlchemy's ``contains(autoescape=True)``."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def list_alerts(
    source: Reader | Engine,
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
    where = ["state IS NULL"]
    params: dict[str, object] = {}
    if topic is not None:
        where.append("topic = :topic")
        params["topic"] = topic
    if feed is not None:
        # The feed list is JSON (one portable column on SQLite and PostgreSQL): the text
        # search narrows the rows, the exact test on the decoded list decides.
        where.append("(feed = :feed OR CAST(feeds AS VARCHAR) LIKE :feed_like ESCAPE '/')")
        params["feed"] = feed
        params["feed_like"] = "%" + _like_escaped(json.dumps(feed)) + "%"
    if since is not None:
        where.append("detected_at >= :since")
        params["since"] = since
    if after_seq is not None:
        where.append("seq > :after_seq")
        params["after_seq"] = after_seq
    sql = f"SELECT {_COLUMNS} FROM alerts WHERE {' AND '.join(where)} ORDER BY seq DESC, id DESC"
    if limit is not None and feed is None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    with reading(source) as reader:
        rows = reader.rows(sql, params, times=_TIMES, jsons=_JSONS)
    alerts = [(int(r.seq), row_to_alert(r)) for r in reversed(rows)]
    if feed is not None:
        alerts = [(seq, a) for seq, a in alerts if a.feed == feed or feed in a.feeds]
        if limit is not None:
            alerts = alerts[-limit:] if limit > 0 else []
    return alerts


def last_sight_topic(source: Reader | Engine) -> str | None:
    """The topic of the newest ``monitor:blind`` or ``monitor:sighted`` alert (None when
    the monitor never was blind): a daemon starting during an outage it already
    alerted goes on from there instead of alerting it again or never saying "sighted"."""
    sql = (
        "SELECT topic FROM alerts WHERE topic IN ('monitor:blind', 'monitor:sighted') "
        "ORDER BY seq DESC LIMIT 1"
    )
    with reading(source) as reader:
        rows = reader.rows(sql)
    return str(rows[0].topic) if rows else None
