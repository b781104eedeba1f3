"""Delivering the outbox: claimed rows → channels → delivered, retried or dead.

Runs after the commit that wrote the alerts (and again on every tick, so nothing a
crash interrupted is forgotten). Each channel is worked in its own thread, and a
channel still busy with one batch gets no new one, so one slow or failing channel
never holds up another. What a channel does is the
channel's business (``monitor.alerts``); the retry schedule is ``alerts.retry``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor import storage
from monitor.alerts.base import Channel
from monitor.alerts.naming import Cadence
from monitor.alerts.operator import operator_alert
from monitor.alerts.policy import AlertPolicy
from monitor.alerts.retry import retry_delay
from monitor.errors import DeliveryError, StorageError
from monitor.log import get_logger
from monitor.service.batching import close_digests, send_batches, split_by_rate
from monitor.storage.handover import Database
from monitor.types import DeliveryTask

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.metrics import Metrics

log = get_logger("monitor.service.delivery")

LEASE = timedelta(minutes=2)
"""The default of ``lease.deliveries``: a dead worker's claimed rows wait this long."""


@dataclass
class DeliverySummary:
    """What one round (or one flush) did; updated from the channel threads."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    claimed: int = 0
    last_id: int = 0
    """The highest outbox row id claimed (the cursor of :meth:`Deliverer.flush`)."""
    errors: dict[str, str] = field(default_factory=dict)
    """channel → last error seen in this round."""
    enabled: dict[str, int] = field(default_factory=dict)
    """channel → alerts queued again: channels a flush re-enabled after a receiver's 410."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, outcome: str, channel: str | None = None, error: str | None = None) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if channel is not None and error is not None:
                self.errors[channel] = error[:300]

    def add(self, other: DeliverySummary) -> None:
        with self._lock:
            self.delivered += other.delivered
            self.failed += other.failed
            self.dead += other.dead
            self.claimed += other.claimed
            self.last_id = max(self.last_id, other.last_id)
            self.errors.update(other.errors)


@dataclass
class Deliverer:
    db: Database
    """The database; its engine opened at the first round with work (a one-shot poll's
    round with an empty outbox opens none: :meth:`Database.outbox_quiet`)."""
    channels: Mapping[str, Channel]
    """By channel name, the alert log included (name ``log``)."""
    policy: AlertPolicy
    schedule: Sequence[timedelta]
    owner: str
    metrics: Metrics | None = None
    lease: timedelta = LEASE
    cadences: Mapping[str, Cadence] = field(default_factory=dict)
    """Channel key → its digest and rate (channels without either are not in it)."""
    rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _inflight: dict[str, Future[None]] = field(default_factory=dict)
    """channel → its batch still being sent (from this or an earlier round)."""
    _pool: ThreadPoolExecutor = field(init=False)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def __post_init__(self) -> None:
        # One thread per channel at most: a channel's batch is sent in order, and a
        # hanging channel occupies only its own thread.
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.channels)), thread_name_prefix="deliver"
        )

    def deliver(
        self,
        now_fn: Callable[[], datetime],
        *,
        due_only: bool = True,
        stop: threading.Event | None = None,
        limit: int = 500,
        after_id: int = 0,
        wait: bool = True,
    ) -> DeliverySummary:
        """One round: claim what is due (rows after ``after_id``) and try each once.

        A channel still sending an earlier round's batch is left out of this one.
        ``wait=False`` (the daemon) returns once the batches are handed to their
        threads, so a channel hanging until its timeout holds up neither the other
        channels' next rounds nor polling; the summary is then filled in later.
        """
        summary = DeliverySummary()
        futures: list[Future[None]] = []
        # Exact at every round, busy or idle (a gauge set only when a round had work
        # stayed at its last value for as long as nothing new came).
        self._refresh_backlog()
        with self._lock:  # one round at a time per process
            storage.release_dead_leases(self.engine, now_fn())
            storage.mute_deliveries(self.engine, now_fn())
            names = {key: channel.name for key, channel in self.channels.items()}
            close_digests(self.engine, self.cadences, names, now_fn())
            idle = [
                name
                for name in self.channels
                if name not in self._inflight or self._inflight[name].done()
            ]
            if not idle:
                return summary
            tasks = storage.claim_deliveries(
                self.engine,
                owner=self.owner,
                now=now_fn(),
                lease=self.lease,
                limit=limit,
                channels=idle,
                due_only=due_only,
                after_id=after_id,
                held=self.held_channels(),
            )
            batches = storage.claim_batches(
                self.engine, owner=self.owner, now=now_fn(), lease=self.lease, channels=idle
            )
            if not tasks and not batches:
                return summary
            summary.claimed = len(tasks) + len(batches)
            summary.last_id = max((t.id for t in tasks), default=after_id)
            by_channel: dict[str, list[DeliveryTask]] = defaultdict(list)
            batched: dict[str, list[storage.BatchTask]] = defaultdict(list)
            for task in tasks:
                by_channel[task.channel].append(task)
            for batch in batches:
                batched[batch.channel].append(batch)
            for name in {*by_channel, *batched}:
                future = self._pool.submit(
                    self._deliver_channel,
                    name,
                    by_channel.get(name, []),
                    now_fn,
                    summary,
                    stop,
                    batched.get(name, []),
                )
                self._inflight[name] = future
                futures.append(future)
        if wait:
            concurrent.futures.wait(futures)
            # A StorageError (the database went away mid-round) must reach the caller;
            # rows it left claimed are retried when their lease runs out.
            for future in futures:
                future.result()
        return summary

    def held_channels(self) -> list[str]:
        """Keys of the channels whose topic alerts wait for a digest."""
        return [k for k, c in self.cadences.items() if c.digest is not None]

    def _refresh_backlog(self) -> None:
        if self.metrics is None:
            return
        # The database away: the gauge keeps its last value until it is back.
        with contextlib.suppress(StorageError):
            self.metrics.set_backlog(storage.outbox_backlog(self.engine))

    def close(self, timeout: float = 5.0) -> None:
        """Take no more batches; give sends in flight up to ``timeout`` seconds.

        A batch still running after that may be sent again by the next worker (the
        leases are released on close), with the same delivery ids.
        """
        self._pool.shutdown(wait=False, cancel_futures=True)
        concurrent.futures.wait(list(self._inflight.values()), timeout=timeout)

    def flush(
        self, now_fn: Callable[[], datetime], *, revive_dead: bool = True, max_rounds: int = 10_000
    ) -> DeliverySummary:
        """`monitor deliver`: try every undelivered row once now, due or not.

        Dead letters are put back first (their schedule starts again: the operator
        says the receiver is fixed), and channels a receiver disabled (HTTP 410) are
        enabled again with the alerts they skipped meanwhile. Rows are walked in id
        order with a cursor, so a row that fails is not tried twice in one flush,
        while rows written meanwhile (the operator alert of a dead letter) are still
        delivered before returning.
        """
        total = DeliverySummary()
        if revive_dead:
            enabled = storage.enable_channels(self.engine, list(self.channels), now_fn())
            total.enabled = {self._name(key): queued for key, queued in enabled.items()}
            for name, queued in total.enabled.items():
                log.info("channel_enabled", channel=name, queued=queued)
            storage.revive_dead_deliveries(self.engine, list(self.channels), now_fn())
        for _ in range(max_rounds):
            summary = self.deliver(now_fn, due_only=False, after_id=total.last_id)
            if not summary.claimed:
                break
            total.add(summary)
        return total

    def _deliver_channel(
        self,
        name: str,
        tasks: list[DeliveryTask],
        now_fn: Callable[[], datetime],
        summary: DeliverySummary,
        stop: threading.Event | None,
        batches: Sequence[storage.BatchTask] = (),
    ) -> None:
        try:
            self._send_batch(name, tasks, now_fn, summary, stop, batches)
        finally:
            self._refresh_backlog()  # after the batch's deliveries, not before them

    def _send_batch(
        self,
        name: str,
        tasks: list[DeliveryTask],
        now_fn: Callable[[], datetime],
        summary: DeliverySummary,
        stop: threading.Event | None,
        batches: Sequence[storage.BatchTask],
    ) -> None:
        channel = self.channels[name]
        if batches:
            sent, failed, error = send_batches(
                self.engine,
                channel,
                batches,
                owner=self.owner,
                now_fn=now_fn,
                schedule=self.schedule,
                rng=self.rng,
                metrics=self.metrics,
            )
            errors = {channel.name: error} if error is not None else {}
            summary.add(DeliverySummary(delivered=sent, failed=failed, errors=errors))
            if error is not None:
                self._give_back(tasks, now_fn())
                return
        tasks = split_by_rate(
            self.engine, channel, self.cadences.get(name), tasks, owner=self.owner, now=now_fn()
        )
        # Stop well before the lease runs out: past it another worker may send the
        # rest too (a slow channel working through a long batch).
        give_up_at = time.monotonic() + self.lease.total_seconds() / 2
        for index, task in enumerate(tasks):
            if stop is not None and stop.is_set():
                # Only this batch: another channel's send in flight must still be able
                # to mark its row delivered (that needs its lease).
                self._give_back(tasks[index:], now_fn())
                return
            if time.monotonic() > give_up_at:
                self._give_back(tasks[index:], now_fn())
                return
            bound = log.bind(channel=channel.name, alert=task.alert.id, attempt=task.attempts + 1)
            try:
                channel.send(task.alert, delivery_id=task.delivery_id)
            except DeliveryError as exc:
                retry_at = self._failed(task, exc, now_fn(), summary)
                bound.warning(
                    "alert_delivery_failed", error=str(exc)[:300], retryable=exc.retryable
                )
                if exc.disable:
                    self._disable(name, str(exc), now_fn())
                    self._give_back(tasks[index + 1 :], now_fn())
                    return
                if exc.retryable:
                    # The receiver is down: keep the rest of this round for later.
                    self._give_back(tasks[index + 1 :], retry_at or now_fn())
                    return
                continue
            except Exception:
                bound.exception("alert_delivery_crashed")
                self._give_back(tasks[index:], now_fn())
                raise
            storage.mark_delivered(self.engine, task.id, self.owner, now_fn())
            summary.count("delivered")
            if self.metrics is not None:
                self.metrics.record_delivery(channel.name, "delivered")
            bound.info("alert_delivered", topic=task.alert.topic)

    def _give_back(self, tasks: Sequence[DeliveryTask], until: datetime) -> None:
        storage.defer_deliveries(self.engine, [t.id for t in tasks], self.owner, until)

    def _failed(
        self, task: DeliveryTask, exc: DeliveryError, now: datetime, summary: DeliverySummary
    ) -> datetime | None:
        delay = retry_delay(task.attempts + 1, self.schedule, self.rng) if exc.retryable else None
        name = self._name(task.channel)
        if self.metrics is not None:
            self.metrics.record_delivery(name, "failed" if delay else "dead")
        if delay is not None:
            summary.count("failed", name, str(exc))
            storage.mark_failed(self.engine, task.id, self.owner, str(exc), now + delay)
            return now + delay
        summary.count("dead", name, str(exc))
        storage.mark_failed(self.engine, task.id, self.owner, str(exc), None)
        if task.alert.kind != "operator":
            storage.save_operator_alert(
                self.engine,
                operator_alert(
                    "delivery-failed",
                    task.alert.feed,
                    f"alert not delivered to {name} after {task.attempts + 1} attempts: "
                    f"{task.alert.title[:200]} ({str(exc)[:200]})",
                    now,
                ),
                self.policy,
                now,
            )
        return None

    def _name(self, key: str) -> str:
        channel = self.channels.get(key)
        return channel.name if channel is not None else key

    def _disable(self, key: str, reason: str, now: datetime) -> None:
        storage.mark_channel_disabled(self.engine, key, reason, now)
        name = self._name(key)
        log.error("channel_disabled", channel=name, reason=reason[:300])
        # Told to the other channels only: the disabled one would answer 410 again.
        others = replace(
            self.policy, channels=tuple(c for c in self.policy.channels if c[0] != key)
        )
        storage.save_operator_alert(
            self.engine,
            operator_alert(
                "channel-disabled",
                name,
                f"alert channel {name} disabled: {reason[:300]} (once the receiver is fixed, "
                "`monitor deliver` enables it again and sends what it missed)",
                now,
            ),
            others,
            now,
        )
