"""Mutes: a topic or a story silenced on every channel for a while (`monitor mute`).

Mutes live in the database so every worker agrees; they end by themselves at
``until`` (or when `monitor unmute` ends them early). A delivery of a muted alert is
marked ``muted`` instead of being sent: the alert stays stored and listed. Which
alerts a mute covers is decided here in SQL (topic id, or the story key of the alert
the operator named); the commands' wording is the CLI's. Reading the mutes in force,
and which alerts they held, is :mod:`monitor.storage.muted`'s (no SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Engine

from monitor.storage.alert_rows import LOG_CHANNEL
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.models import AlertRow, DeliveryRow, MuteRow
from monitor.storage.muted import Mute, active_mutes, muted_alerts

__all__ = [
    "Mute",
    "active_mutes",
    "add_mute",
    "end_mutes",
    "find_story",
    "mute_deliveries",
    "muted_alerts",
]


def _active(now: datetime) -> list[object]:
    return [MuteRow.until > now, MuteRow.ended_at.is_(None)]


@translates_errors
def find_story(engine: Engine, ident: str) -> tuple[str, str] | None:
    """(story key, title) of the alert whose id is ``ident`` or starts with it (8+ chars,
    one alert only), else None."""
    if len(ident) < 8:
        return None
    with engine.connect() as conn:
        rows = conn.execute(
            select(AlertRow.story_key, AlertRow.title)
            .where(AlertRow.id.startswith(ident, autoescape=True), AlertRow.kind == "topic")
            .limit(2)
        ).all()
    if len(rows) != 1:
        return None
    return str(rows[0].story_key), str(rows[0].title)


@translates_errors
def add_mute(
    engine: Engine,
    kind: str,
    target: str,
    *,
    label: str,
    reason: str,
    now: datetime,
    until: datetime,
) -> int:
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                insert(MuteRow)
                .values(
                    kind=kind,
                    target=target[:200],
                    label=label[:300],
                    reason=reason[:500],
                    created_at=now,
                    until=until,
                )
                .returning(MuteRow.id)
            ).scalar_one()
        )


@translates_errors
def end_mutes(engine: Engine, targets: Sequence[str], now: datetime) -> int:
    """End the active mutes of these topic ids, story keys or mute ids (``#3``)."""
    ids = [int(t[1:]) for t in targets if t.startswith("#") and t[1:].isdigit()]
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                update(MuteRow)
                .where(
                    *_active(now),  # type: ignore[arg-type]
                    or_(MuteRow.target.in_(list(targets)), MuteRow.id.in_(ids)),
                )
                .values(ended_at=now)
            ).rowcount
        )


@translates_errors
def mute_deliveries(engine: Engine, now: datetime) -> int:
    """Mark the pending, unbatched deliveries of muted alerts ``muted`` (never sent);
    the alert log still records them. Returns how many."""
    with write_transaction(engine) as conn:
        mutes = conn.execute(select(MuteRow.kind, MuteRow.target).where(*_active(now))).all()  # type: ignore[arg-type]
        if not mutes:
            return 0
        topics = [m.target for m in mutes if m.kind == "topic"]
        stories = [m.target for m in mutes if m.kind == "story"]
        muted = select(AlertRow.id).where(
            AlertRow.kind != "operator",
            or_(AlertRow.topic.in_(topics), AlertRow.story_key.in_(stories)),
        )
        return int(
            conn.execute(
                update(DeliveryRow)
                .where(
                    and_(
                        DeliveryRow.status == "pending",
                        DeliveryRow.batch_id.is_(None),
                        DeliveryRow.lease_owner.is_(None),
                        DeliveryRow.channel != LOG_CHANNEL,
                        DeliveryRow.alert_id.in_(muted),
                    )
                )
                .values(status="muted", last_error="muted")
            ).rowcount
        )
