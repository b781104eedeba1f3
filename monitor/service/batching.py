"""Digests and rate limits in a delivery round: which alerts wait, which go together.

Before a round claims anything, every digest channel's closed period is turned into a
batch (:func:`close_digests`), and due batches are sent as one message each
(:func:`send_batches`). A rate-limited channel sends at most its rate of single
messages per window; the rest of what it claimed joins the "N more alerts" message of
the next window (:func:`split_by_rate`), never dropped. Operator alerts are never held.
The periods and windows are :mod:`monitor.alerts.cadence`'s; the rows, leases and
idempotency ids are :mod:`monitor.storage.batches`'.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import storage
from monitor.alerts.base import Channel
from monitor.alerts.batch import Batch, BatchKind
from monitor.alerts.naming import Cadence
from monitor.alerts.retry import retry_delay
from monitor.errors import DeliveryError
from monitor.log import get_logger
from monitor.types import DeliveryTask

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.metrics import Metrics

log = get_logger("monitor.service.batching")


def close_digests(
    engine: Engine, cadences: Mapping[str, Cadence], names: Mapping[str, str], now: datetime
) -> None:
    """Batch each digest channel's alerts written before its current period began."""
    for key, cadence in cadences.items():
        if cadence.digest is None or key not in names:
            continue
        start, _ = cadence.digest.period(now)
        previous, _ = cadence.digest.period(start - timedelta(microseconds=1))
        joined = storage.close_digest(engine, key, previous, start, now)
        if joined:
            log.info(
                "digest_closed",
                channel=names.get(key, key),
                alerts=joined,
                period_start=str(previous),
            )


def send_batches(
    engine: Engine,
    channel: Channel,
    batches: Sequence[storage.BatchTask],
    *,
    owner: str,
    now_fn: Callable[[], datetime],
    schedule: Sequence[timedelta],
    rng: random.Random,
    metrics: Metrics | None,
) -> tuple[int, int, str | None]:
    """Send each claimed batch as one message: (alerts delivered, failures, last error).
    Stops at the first failure (the receiver is down; the rest waits for its lease)."""
    delivered = failed = 0
    error: str | None = None
    for task in batches:
        if not task.alerts:  # every alert in it was muted or sent meanwhile
            storage.finish_batch(engine, task.id, owner, now_fn())
            continue
        batch = Batch(
            kind=BatchKind(task.kind),
            channel=channel.name,
            start=task.start,
            end=task.end,
            alerts=task.alerts,
        )
        bound = log.bind(channel=channel.name, batch=task.kind, alerts=len(task.alerts))
        try:
            channel.send_batch(batch, delivery_id=task.delivery_id)
        except DeliveryError as exc:
            failed += 1
            error = str(exc)[:300]
            delay = retry_delay(task.attempts + 1, schedule, rng) if exc.retryable else None
            now = now_fn()
            storage.fail_batch(engine, task.id, owner, str(exc), now + delay if delay else None)
            if metrics is not None:
                metrics.record_delivery(channel.name, "failed" if delay else "dead")
            bound.warning("batch_delivery_failed", error=error, retryable=exc.retryable)
            # The rest stay leased and are tried once their lease runs out.
            break
        storage.finish_batch(engine, task.id, owner, now_fn())
        delivered += len(task.alerts)
        if metrics is not None:
            metrics.record_delivery(channel.name, "delivered")
        bound.info("batch_delivered", delivery_id=task.delivery_id)
    return delivered, failed, error


def split_by_rate(
    engine: Engine,
    channel: Channel,
    cadence: Cadence | None,
    tasks: list[DeliveryTask],
    *,
    owner: str,
    now: datetime,
) -> list[DeliveryTask]:
    """The tasks to send one by one now; the channel's topic alerts past its rate in this
    window are put into the next window's "N more alerts" message."""
    if cadence is None or cadence.rate is None:
        return tasks
    rate = cadence.rate
    start, end = rate.window(now)
    key = channel.key
    room = max(0, rate.count - storage.sent_in_window(engine, key, start, end))
    send: list[DeliveryTask] = []
    over: list[DeliveryTask] = []
    for task in tasks:
        if task.alert.kind == "operator":
            send.append(task)  # operator alerts never wait
        elif room > 0:
            send.append(task)
            room -= 1
        else:
            over.append(task)
    if over:
        held = storage.hold_for_window(
            engine, key, [t.id for t in over], owner, end, end + rate.per
        )
        log.info(
            "alerts_over_rate", channel=channel.name, held=len(over), until=str(end), batched=held
        )
    return send
