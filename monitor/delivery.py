"""Delivering the outbox: claimed rows → channels → delivered, retried or dead.

Runs after the commit that wrote the alerts (and again on every tick, so nothing a
crash interrupted is forgotten). Each channel is worked in its own thread so one
slow or failing channel never holds up another. What a channel does is the
channel's business (``monitor.alerts``); the retry schedule is ``alerts.retry``.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.base import Channel
from monitor.alerts.retry import retry_delay
from monitor.errors import DeliveryError
from monitor.feedhealth import operator_alert
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.types import DeliveryTask

log = get_logger("monitor.delivery")

LEASE = timedelta(minutes=2)
"""The default of ``lease.deliveries``: a dead worker's claimed rows wait this long."""


@dataclass
class DeliverySummary:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    """channel → last error seen in this round."""


@dataclass
class Deliverer:
    engine: Engine
    channels: Mapping[str, Channel]
    """By channel name, the alert log included (name ``log``)."""
    policy: storage.AlertPolicy
    schedule: Sequence[timedelta]
    owner: str
    metrics: Metrics | None = None
    lease: timedelta = LEASE
    rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, now_fn: Callable[[], datetime], *, due_only: bool = True,
                stop: threading.Event | None = None, limit: int = 500) -> DeliverySummary:
        """One round: claim what is due and try each once."""
        summary = DeliverySummary()
        with self._lock:  # one round at a time per process
            tasks = storage.claim_deliveries(
                self.engine, owner=self.owner, now=now_fn(), lease=self.lease, limit=limit,
                channels=list(self.channels), due_only=due_only)
            if not tasks:
                return summary
            by_channel: dict[str, list[DeliveryTask]] = defaultdict(list)
            for task in tasks:
                by_channel[task.channel].append(task)
            with ThreadPoolExecutor(max_workers=min(8, len(by_channel)),
                                    thread_name_prefix="deliver") as pool:
                futures = [pool.submit(self._deliver_channel, name, items, now_fn, summary,
                                       stop) for name, items in by_channel.items()]
            # A StorageError (the database went away mid-round) must reach the daemon;
            # rows it left claimed are retried when their lease runs out.
            for future in futures:
                future.result()
        if self.metrics is not None:
            self.metrics.set_backlog(storage.outbox_counts(self.engine).get("pending", 0))
        return summary

    def _deliver_channel(self, name: str, tasks: list[DeliveryTask],
                         now_fn: Callable[[], datetime], summary: DeliverySummary,
                         stop: threading.Event | None) -> None:
        channel = self.channels[name]
        for index, task in enumerate(tasks):
            if stop is not None and stop.is_set():
                storage.release_deliveries(self.engine, self.owner)
                return
            bound = log.bind(channel=name, alert=task.alert.id, attempt=task.attempts + 1)
            try:
                channel.send(task.alert, delivery_id=task.delivery_id)
            except DeliveryError as exc:
                retry_at = self._failed(task, exc, now_fn(), summary)
                bound.warning("alert_delivery_failed", error=str(exc)[:300],
                              retryable=exc.retryable)
                if exc.disable:
                    self._disable(name, str(exc), now_fn())
                    self._give_back(tasks[index + 1:], now_fn())
                    return
                if exc.retryable:
                    # The receiver is down: keep the rest of this round for later.
                    self._give_back(tasks[index + 1:], retry_at or now_fn())
                    return
                continue
            except Exception:
                bound.exception("alert_delivery_crashed")
                self._give_back(tasks[index:], now_fn())
                raise
            storage.mark_delivered(self.engine, task.id, self.owner, now_fn())
            summary.delivered += 1
            if self.metrics is not None:
                self.metrics.record_delivery(name, "delivered")
            bound.info("alert_delivered", topic=task.alert.topic)

    def _give_back(self, tasks: Sequence[DeliveryTask], until: datetime) -> None:
        storage.defer_deliveries(self.engine, [t.id for t in tasks], self.owner, until)

    def _failed(self, task: DeliveryTask, exc: DeliveryError, now: datetime,
                summary: DeliverySummary) -> datetime | None:
        summary.errors[task.channel] = str(exc)[:300]
        delay = retry_delay(task.attempts + 1, self.schedule, self.rng) if exc.retryable else None
        if self.metrics is not None:
            self.metrics.record_delivery(task.channel, "failed" if delay else "dead")
        if delay is not None:
            summary.failed += 1
            storage.mark_failed(self.engine, task.id, self.owner, str(exc), now + delay)
            return now + delay
        summary.dead += 1
        storage.mark_failed(self.engine, task.id, self.owner, str(exc), None)
        if task.alert.kind == "topic":
            storage.save_operator_alert(self.engine, operator_alert(
                "delivery-failed", task.alert.feed,
                f"alert not delivered to {task.channel} after {task.attempts + 1} attempts: "
                f"{task.alert.title[:200]} ({str(exc)[:200]})", now), self.policy, now)
        return None

    def _disable(self, name: str, reason: str, now: datetime) -> None:
        storage.mark_channel_disabled(self.engine, name, reason, now)
        log.error("channel_disabled", channel=name, reason=reason[:300])
        storage.save_operator_alert(self.engine, operator_alert(
            "channel-disabled", name, f"alert channel {name} disabled: {reason[:300]}", now),
            self.policy, now)
