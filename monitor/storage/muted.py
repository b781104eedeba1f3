"""The mutes in force, and which alerts a mute held: `monitor mutes`, `monitor alerts`
and the console read them with plain SQL (:mod:`monitor.storage.reader`), without
SQLAlchemy. Adding, ending and applying mutes is :mod:`monitor.storage.mutes`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.storage.reader import Reader, reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["Mute", "active_mutes", "muted_alerts"]

_CHUNK = 500
"""Alert ids a query: far below every database's limit of parameters."""


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str
    """topic or story."""
    target: str
    label: str
    reason: str
    created_at: datetime
    until: datetime


def active_mutes(source: Reader | Engine, now: datetime) -> list[Mute]:
    sql = (
        "SELECT id, kind, target, label, reason, created_at, until FROM mutes "
        "WHERE until > :now AND ended_at IS NULL ORDER BY until"
    )
    with reading(source) as reader:
        rows = reader.rows(sql, {"now": now}, times=("created_at", "until"))
    return [
        Mute(
            id=int(r.id),
            kind=r.kind,
            target=r.target,
            label=r.label,
            reason=r.reason,
            created_at=r.created_at,
            until=r.until,
        )
        for r in rows
    ]


def muted_alerts(source: Reader | Engine, alert_ids: Sequence[str]) -> set[str]:
    """Which of these alerts had a message held by a mute."""
    found: set[str] = set()
    if not alert_ids:
        return found
    ids = list(alert_ids)
    with reading(source) as reader:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            params = {f"a{i}": alert for i, alert in enumerate(chunk)}
            marks = ", ".join(f":{name}" for name in params)
            sql = (
                f"SELECT DISTINCT alert_id FROM deliveries "
                f"WHERE alert_id IN ({marks}) AND status = 'muted'"
            )
            found.update(str(r.alert_id) for r in reader.rows(sql, params))
    return found
