"""The outbox: delivery rows claimed with a lease, marked delivered or retried.

A row is claimed (lease in database time, ``SKIP LOCKED`` on PostgreSQL) and the
claim committed before anything is sent, so two workers never send the same row at
once; a worker that dies leaves a lease that simply expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine

from monitor.storage.alert_rows import delivery_id, row_to_alert
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.feeds import db_now
from monitor.storage.leases import failed_attempt, lease_rows
from monitor.storage.models import AlertRow, ChannelStateRow, DeliveryRow
from monitor.types import DeliveryTask


@translates_errors
def claim_deliveries(
    engine: Engine,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int = 100,
    channels: Sequence[str] | None = None,
    due_only: bool = True,
    after_id: int = 0,
    held: Sequence[str] = (),
) -> list[DeliveryTask]:
    """Lease pending deliveries (due ones, or all with ``due_only=False``), in row order,
    only rows after ``after_id`` (a cursor for walking the whole outbox once). Rows a
    batch carries are never claimed one by one, nor the topic, confirmation and surge
    alerts of the ``held`` channels (those with a digest: only their operator alerts go
    at once, as the digest's batches take every other kind)."""
    with write_transaction(engine) as conn:
        clock = db_now(conn, now)
        # Rows written for a channel after its receiver disabled it (an operator alert
        # raised meanwhile) are skipped like the ones pending when it was disabled.
        disabled = list(
            conn.execute(
                select(ChannelStateRow.channel).where(ChannelStateRow.disabled_at.is_not(None))
            ).scalars()
        )
        if disabled:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.status == "pending", DeliveryRow.channel.in_(disabled))
                .values(
                    status="skipped",
                    lease_owner=None,
                    lease_until=None,
                    last_error="channel disabled",
                )
            )
        conds = [
            DeliveryRow.status == "pending",
            DeliveryRow.batch_id.is_(None),
            or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until < clock),
        ]
        if held:
            conds.append(
                or_(
                    DeliveryRow.channel.not_in(list(held)),
                    DeliveryRow.alert_id.in_(
                        select(AlertRow.id).where(AlertRow.kind == "operator")
                    ),
                )
            )
        if due_only:
            conds.append(DeliveryRow.next_attempt <= now)
        if after_id:
            conds.append(DeliveryRow.id > after_id)
        if channels is not None:
            conds.append(DeliveryRow.channel.in_(list(channels)))
        query = (
            select(DeliveryRow.id, DeliveryRow.channel, DeliveryRow.attempts, DeliveryRow.alert_id)
            .where(and_(*conds))
            .order_by(DeliveryRow.id)
            .limit(limit)
        )
        rows = lease_rows(conn, DeliveryRow, query, owner=owner, until=clock + lease)
        if not rows:
            return []
        alerts = {
            r.id: row_to_alert(r)
            for r in conn.execute(
                select(AlertRow.__table__).where(AlertRow.id.in_({r.alert_id for r in rows}))
            ).all()
        }
    return [
        DeliveryTask(
            id=r.id,
            delivery_id=delivery_id(r.alert_id, r.channel),
            channel=r.channel,
            alert=alerts[r.alert_id],
            attempts=r.attempts,
        )
        for r in rows
    ]


@translates_errors
def mark_delivered(engine: Engine, task_id: int, owner: str, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == task_id, DeliveryRow.lease_owner == owner)
            .values(
                status="delivered",
                delivered_at=now,
                attempts=DeliveryRow.attempts + 1,
                lease_owner=None,
                lease_until=None,
                last_error=None,
            )
        )


@translates_errors
def mark_failed(
    engine: Engine, task_id: int, owner: str, error: str, next_attempt: datetime | None
) -> None:
    """Record a failed attempt; ``next_attempt=None`` gives up (dead letter)."""
    values = failed_attempt(DeliveryRow, error, next_attempt)
    with write_transaction(engine) as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == task_id, DeliveryRow.lease_owner == owner)
            .values(**values)
        )


@translates_errors
def release_deliveries(engine: Engine, owner: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.lease_owner == owner, DeliveryRow.status == "pending")
            .values(lease_owner=None, lease_until=None)
        )


@translates_errors
def outbox_counts(engine: Engine, channels: Sequence[str] | None = None) -> dict[str, int]:
    """Deliveries by status (pending = backlog), optionally of some channels only."""
    query = select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
    if channels is not None:
        query = query.where(DeliveryRow.channel.in_(list(channels)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {str(status): int(n) for status, n in rows}


_PENDING = select(func.count()).where(DeliveryRow.status == "pending")


@translates_errors
def outbox_backlog(engine: Engine) -> int:
    """Deliveries still pending: the backlog gauge, read after every delivery round, so
    it counts through the (status, next_attempt) index instead of grouping every row
    ever delivered."""
    with engine.connect() as conn:
        return int(conn.execute(_PENDING).scalar() or 0)


@translates_errors
def undelivered(
    engine: Engine, channels: Sequence[str], held: Sequence[str] = ()
) -> dict[str, tuple[int, int, str | None]]:
    """channel → (pending rows, dead rows, the newest row's last error), for channels
    with something undelivered: what `monitor deliver` reports as still failing. Rows a
    digest or an "N more alerts" message carries, and rows waiting for their channel's
    digest untried, are waiting, not failing."""
    query = (
        select(DeliveryRow.channel, DeliveryRow.status, DeliveryRow.last_error)
        .where(
            DeliveryRow.channel.in_(list(channels)),
            DeliveryRow.status.in_(("pending", "dead")),
            DeliveryRow.batch_id.is_(None),
            or_(
                DeliveryRow.status == "dead",
                DeliveryRow.attempts > 0,
                DeliveryRow.last_error.is_not(None),
                DeliveryRow.channel.not_in(list(held)),
            ),
        )
        .order_by(DeliveryRow.id)
    )
    found: dict[str, tuple[int, int, str | None]] = {}
    with engine.connect() as conn:
        for channel, status, error in conn.execute(query).all():
            pending, dead, last = found.get(channel, (0, 0, None))
            found[channel] = (
                pending + (status == "pending"),
                dead + (status == "dead"),
                error or last,
            )
    return found


@translates_errors
def revive_dead_deliveries(engine: Engine, channels: Sequence[str], now: datetime) -> int:
    """Put dead letters of ``channels`` back in the outbox with a fresh schedule."""
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.status == "dead", DeliveryRow.channel.in_(list(channels)))
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt=now,
                    lease_owner=None,
                    lease_until=None,
                )
            ).rowcount
        )


@translates_errors
def enable_channels(engine: Engine, channels: Sequence[str], now: datetime) -> dict[str, int]:
    """Re-enable ``channels`` that a receiver disabled (HTTP 410): channel → how many of
    its alerts, skipped while it was disabled, go back in the outbox to be sent now."""
    names = list(channels)
    revived: dict[str, int] = {}
    with write_transaction(engine) as conn:
        disabled = list(
            conn.execute(
                select(ChannelStateRow.channel).where(
                    ChannelStateRow.disabled_at.is_not(None), ChannelStateRow.channel.in_(names)
                )
            ).scalars()
        )
        if not disabled:
            return revived
        conn.execute(
            update(ChannelStateRow)
            .where(ChannelStateRow.channel.in_(disabled))
            .values(disabled_at=None, reason=None)
        )
        for name in disabled:
            revived[name] = int(
                conn.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.status == "skipped", DeliveryRow.channel == name)
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt=now,
                        lease_owner=None,
                        lease_until=None,
                        last_error=None,
                    )
                ).rowcount
            )
    return revived


@translates_errors
def delivery_report(
    engine: Engine, alert_ids: Sequence[str] | None = None
) -> list[tuple[str, str, str, int, str | None]]:
    """(alert id, channel, status, attempts, last error) for `monitor deliver`."""
    query = select(
        DeliveryRow.alert_id,
        DeliveryRow.channel,
        DeliveryRow.status,
        DeliveryRow.attempts,
        DeliveryRow.last_error,
    ).order_by(DeliveryRow.id)
    if alert_ids is not None:
        query = query.where(DeliveryRow.alert_id.in_(list(alert_ids)))
    with engine.connect() as conn:
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in conn.execute(query).all()]


@translates_errors
def defer_deliveries(
    engine: Engine, task_ids: Sequence[int], owner: str, next_attempt: datetime
) -> None:
    """Put claimed rows back untried (their channel is failing right now)."""
    if not task_ids:
        return
    with write_transaction(engine) as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(list(task_ids)), DeliveryRow.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_until=None,
                next_attempt=func.coalesce(next_attempt, DeliveryRow.next_attempt),
            )
        )


@translates_errors
def rename_channels(engine: Engine, moves: dict[str, str]) -> int:
    """Move outbox rows (and a disabled state) from an old channel key to its new one,
    except rows the new key already has for the same alert. Returns rows moved."""
    moved = 0
    with write_transaction(engine) as conn:
        for old, new in moves.items():
            taken = select(DeliveryRow.alert_id).where(DeliveryRow.channel == new)
            moved += int(
                conn.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.channel == old, DeliveryRow.alert_id.not_in(taken))
                    .values(channel=new)
                ).rowcount
            )
            has_new = conn.execute(
                select(ChannelStateRow.channel).where(ChannelStateRow.channel == new)
            ).first()
            if not has_new:
                conn.execute(
                    update(ChannelStateRow)
                    .where(ChannelStateRow.channel == old)
                    .values(channel=new)
                )
    return moved
