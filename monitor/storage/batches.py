"""Batches in the outbox: a channel's digest of a period, or its "N more alerts" message.

A batch is a row of its own; the deliveries it carries point at it (``batch_id``), set
once, in the transaction that creates or fills the batch, so each alert is in exactly
one batch. A batch is claimed with a lease like a delivery and, once sent, marked
delivered together with every delivery it carries; a worker killed in between leaves
a lease that runs out, and the batch is sent again with the same id. When a batch is
due is the deliverer's decision (:mod:`monitor.alerts.cadence`), not this module's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from monitor.storage.alert_rows import row_to_alert
from monitor.storage.database import translates_errors, write_transaction
from monitor.storage.feeds import db_now
from monitor.storage.leases import failed_attempt, lease_rows
from monitor.storage.models import AlertRow, BatchRow, DeliveryRow
from monitor.storage.upsert import insert_ignore
from monitor.types import Alert


@dataclass(frozen=True, slots=True)
class BatchTask:
    """One claimed batch: send ``alerts`` to ``channel`` as one message."""

    id: int
    delivery_id: str
    channel: str
    kind: str
    start: datetime
    end: datetime
    alerts: tuple[Alert, ...]
    attempts: int


def batch_delivery_id(channel: str, kind: str, start: datetime) -> str:
    """The idempotency id of a batch: the same for every attempt, in every worker."""
    text = f"{channel}\n{kind}\n{start.isoformat()}"
    return "msg_" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _open_batch(
    conn: Connection, channel: str, kind: str, start: datetime, end: datetime, send_at: datetime
) -> tuple[int, str] | None:
    """The batch (id, status) of ``channel``/``kind`` starting at ``start``, made if new."""
    conn.execute(
        insert_ignore(
            BatchRow,
            ["channel", "kind", "period_start"],
            [
                "channel",
                "kind",
                "period_start",
                "period_end",
                "status",
                "attempts",
                "next_attempt",
                "created_at",
            ],
        ),
        {
            "channel": channel,
            "kind": kind,
            "period_start": start,
            "period_end": end,
            "status": "pending",
            "attempts": 0,
            "next_attempt": send_at,
            "created_at": send_at,
        },
    )
    row = conn.execute(
        select(BatchRow.id, BatchRow.status, BatchRow.lease_owner).where(
            BatchRow.channel == channel, BatchRow.kind == kind, BatchRow.period_start == start
        )
    ).first()
    if row is None:
        return None
    return int(row.id), str(row.status) if row.lease_owner is None else "leased"


def _topic_rows(channel: str) -> list[object]:
    return [
        DeliveryRow.channel == channel,
        DeliveryRow.status == "pending",
        DeliveryRow.batch_id.is_(None),
        DeliveryRow.alert_id.in_(select(AlertRow.id).where(AlertRow.kind != "operator")),
    ]


@translates_errors
def close_digest(
    engine: Engine, channel: str, start: datetime, end: datetime, now: datetime
) -> int:
    """Put the channel's unbatched topic alerts written before ``end`` (the closed period
    ``[start, end)``, and any an earlier, missed period left) into that period's digest.
    Returns how many joined it; none joining makes no batch (an empty period sends
    nothing)."""
    with write_transaction(engine) as conn:
        waiting = conn.execute(
            select(func.count())
            .select_from(DeliveryRow)
            .where(and_(*_topic_rows(channel), DeliveryRow.created_at < end))  # type: ignore[arg-type]
        ).scalar_one()
        if not waiting:
            return 0
        opened = _open_batch(conn, channel, "digest", start, end, now)
        if opened is None or opened[1] != "pending":
            return 0  # sent or being sent: what is left waits for the next period
        return int(
            conn.execute(
                update(DeliveryRow)
                .where(and_(*_topic_rows(channel), DeliveryRow.created_at < end))  # type: ignore[arg-type]
                .values(batch_id=opened[0])
            ).rowcount
        )


@translates_errors
def hold_for_window(
    engine: Engine,
    channel: str,
    task_ids: Sequence[int],
    owner: str,
    start: datetime,
    end: datetime,
) -> bool:
    """Put claimed rows past a channel's rate into the "N more alerts" message sent at
    ``start`` (the next window). False when that message is already on its way: the
    rows are then given back untouched, to be held for a later window."""
    with write_transaction(engine) as conn:
        opened = _open_batch(conn, channel, "overflow", start, end, start)
        ok = opened is not None and opened[1] == "pending"
        values: dict[str, object] = {"lease_owner": None, "lease_until": None}
        if ok:
            assert opened is not None
            values["batch_id"] = opened[0]
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(list(task_ids)), DeliveryRow.lease_owner == owner)
            .values(**values)
        )
        return ok


@translates_errors
def claim_batches(
    engine: Engine,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    channels: Sequence[str],
) -> list[BatchTask]:
    """Lease due, unleased batches of ``channels`` with the alerts they carry."""
    with write_transaction(engine) as conn:
        clock = db_now(conn, now)
        query = (
            select(BatchRow.id, BatchRow.channel, BatchRow.kind, BatchRow.attempts)
            .where(
                BatchRow.status == "pending",
                BatchRow.next_attempt <= now,
                BatchRow.channel.in_(list(channels)),
                or_(BatchRow.lease_until.is_(None), BatchRow.lease_until < clock),
            )
            .order_by(BatchRow.id)
            .limit(50)
        )
        rows = lease_rows(conn, BatchRow, query, owner=owner, until=clock + lease)
        tasks: list[BatchTask] = []
        for r in rows:
            period = conn.execute(
                select(BatchRow.period_start, BatchRow.period_end).where(BatchRow.id == r.id)
            ).one()
            alerts = tuple(
                row_to_alert(a)
                for a in conn.execute(
                    select(AlertRow.__table__)
                    .join(DeliveryRow, DeliveryRow.alert_id == AlertRow.id)
                    .where(DeliveryRow.batch_id == r.id, DeliveryRow.status == "pending")
                    .order_by(AlertRow.seq)
                ).all()
            )
            tasks.append(
                BatchTask(
                    id=r.id,
                    delivery_id=batch_delivery_id(r.channel, r.kind, period.period_start),
                    channel=r.channel,
                    kind=r.kind,
                    start=period.period_start,
                    end=period.period_end,
                    alerts=alerts,
                    attempts=r.attempts,
                )
            )
    return tasks


@translates_errors
def finish_batch(
    engine: Engine, batch_id: int, owner: str, now: datetime, *, status: str = "delivered"
) -> None:
    """The batch and every delivery it carries: delivered (or ``status``) at once."""
    with write_transaction(engine) as conn:
        done = conn.execute(
            update(BatchRow)
            .where(BatchRow.id == batch_id, BatchRow.lease_owner == owner)
            .values(
                status=status,
                delivered_at=now,
                attempts=BatchRow.attempts + 1,
                lease_owner=None,
                lease_until=None,
            )
        ).rowcount
        if done:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.batch_id == batch_id, DeliveryRow.status == "pending")
                .values(status="delivered", delivered_at=now, attempts=DeliveryRow.attempts + 1)
            )


@translates_errors
def fail_batch(
    engine: Engine, batch_id: int, owner: str, error: str, next_attempt: datetime | None
) -> None:
    """A failed attempt; ``next_attempt=None`` gives the batch up (its rows go dead)."""
    values = failed_attempt(BatchRow, error, next_attempt)
    with write_transaction(engine) as conn:
        done = conn.execute(
            update(BatchRow)
            .where(BatchRow.id == batch_id, BatchRow.lease_owner == owner)
            .values(**values)
        ).rowcount
        if done and next_attempt is None:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.batch_id == batch_id, DeliveryRow.status == "pending")
                .values(status="dead", last_error=error[:2000], batch_id=None)
            )


@translates_errors
def sent_in_window(engine: Engine, channel: str, start: datetime, end: datetime) -> int:
    """Single messages the channel was sent in ``[start, end)`` (its rate's count)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(DeliveryRow)
                .where(
                    DeliveryRow.channel == channel,
                    DeliveryRow.status == "delivered",
                    DeliveryRow.batch_id.is_(None),
                    DeliveryRow.delivered_at >= start,
                    DeliveryRow.delivered_at < end,
                )
            ).scalar_one()
        )
