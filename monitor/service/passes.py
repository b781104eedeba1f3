"""A poll pass: claim feeds from the database a few at a time and poll them in a pool.

Like miniflux's worker pool: the database says which feeds are due (and, on
PostgreSQL, leases them to this worker), a bounded pool of threads polls them, and
feeds are claimed whenever the pool runs low rather than in batches waited for as a
whole, so a slow server holds up its own feed, not the batch it was claimed with.

It does not poll a feed itself (the ``poll`` callable does: :func:`monitor.pipeline.
poll_feed`), nor decide anything about a feed's state.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.errors import StorageError
from monitor.log import get_logger
from monitor.pipeline import FeedOutcome
from monitor.service.hostturns import HostPace, HostTurns, pace_of
from monitor.storage.handover import Database, as_database
from monitor.types import FeedSpec, FeedState

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = get_logger("monitor.service.app")

RECLAIM_EVERY = 0.5
"""Seconds between claims while a pass waits on its last feeds (``keep_claiming``)."""

PollOne = Callable[[FeedSpec, FeedState], FeedOutcome]


def run_pass(
    database: Engine | Database,
    poll: PollOne,
    *,
    owner: str,
    now: Callable[[], datetime],
    lease: timedelta,
    workers: int,
    names: list[str] | None = None,
    due_only: bool = False,
    stop: threading.Event | None = None,
    keep_claiming: float | None = None,
    per_host: int = 2,
    per_host_ceiling: int | None = None,
    progress: Callable[[], float] | None = None,
) -> list[FeedOutcome]:
    """Poll feeds (all enabled, the named, or the due ones) until none is left.

    Each feed is polled once a pass; but with ``keep_claiming`` (seconds, the daemon's
    due-only passes), while the last feeds of a pass are still in flight (a server that
    drips or never answers, up to the fetch deadline), feeds that fall due meanwhile are
    claimed and polled too, those polled earlier in the pass included, until the pass is
    that old: one hanging server does not hold back the feeds of every other. A feed
    whose host already has its limit of fetches in flight waits in the pass, not on a
    worker thread (:class:`~monitor.service.hostturns.HostTurns`), so feeds of other
    hosts go first; the limit starts at ``per_host`` and grows up to
    ``per_host_ceiling`` while the host answers fast.

    ``progress``: a clock that moves while the feeds in flight are held back past their
    deadlines by work that is not theirs (the parser pool's build clock: a worker
    compiling the topics). While it moves, the leases of the feeds in flight are
    renewed every third of ``lease``, so a long compile does not hand them to another
    worker; a poll that hangs for anything else still loses its lease when it runs out.

    Raises :class:`StorageError` when the database goes away: claiming stops, the
    feeds in flight finish (their saves fail and their leases stay ours, so the
    next pass polls them again) and nothing fetched is counted as stored.
    """
    engine = as_database(database)
    outcomes: list[FeedOutcome] = []
    crashed: list[BaseException] = []
    lost: StorageError | None = None
    batch = max(4, workers * 4)
    seen: set[str] = set()
    last = ""  # the last name claimed, in a pass over every feed
    running: dict[Future[FeedOutcome | None], FeedSpec] = {}
    # Each future puts itself here when it is done: the loop takes what finished
    # without installing a waiter on every running future anew each time one ends
    # (what ``concurrent.futures.wait`` does: ~5 ms of a 300-feed pass's main thread).
    finished: queue.SimpleQueue[Future[FeedOutcome | None]] = queue.SimpleQueue()
    claimed_at: dict[str, float] = {}  # feeds waiting for their host: when claimed
    # A feed whose host has all its slots in use waits here, not on a worker
    # thread (80 feeds of a host that never answers held every worker).
    turns = HostTurns(per_host, per_host_ceiling)
    exhausted = False
    started = time.monotonic()
    keep_until = started + keep_claiming if due_only and keep_claiming else started
    next_claim = started
    renew_every = lease.total_seconds() / 3
    next_renewal = started + renew_every
    progress_seen = progress() if progress is not None else 0.0

    def poll_one(spec: FeedSpec, state: FeedState) -> FeedOutcome | None:
        if stop is not None and stop.is_set():
            release(engine, owner, [spec.name])
            return None
        return poll(spec, state)

    # Leases we still hold come from a pass whose saves failed (the database went
    # away between fetch and store): nothing of ours is in flight now, so give
    # them back and poll those feeds again instead of waiting for them to expire.
    engine.release_feeds(owner)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        while True:
            stopping = lost is not None or (stop is not None and stop.is_set())
            clock = time.monotonic()
            waiting = exhausted and clock < keep_until  # on the pass's last feeds
            may_claim = not exhausted or (waiting and clock >= next_claim)
            if may_claim and not stopping and len(running) < 2 * workers:
                # Excluded in the query, not filtered afterwards: a feed polled a
                # moment ago can sort before the unpolled ones (its next poll is
                # jittered), and a batch of those alone would end the pass early.
                # While waiting on the last ones, only those are left out (the
                # others are not due again before their interval).
                # A pass over every feed (not only the due ones) walks them in name
                # order instead: nothing to leave out but what comes before the last
                # one claimed.
                exclude = {s.name for s in running.values()} | turns.names() if exhausted else seen
                try:
                    claimed = engine.claim_feeds(
                        owner=owner,
                        now=now(),
                        lease=lease,
                        limit=batch - len(running),
                        names=names,
                        due_only=due_only,
                        exclude=exclude if due_only else (),
                        after=None if due_only else last,
                    )
                except StorageError as exc:
                    lost, claimed = exc, []
                exhausted = not claimed
                next_claim = clock + RECLAIM_EVERY
                if claimed:  # in the database's order (its collation, not Python's)
                    last = claimed[-1][0].name
                for spec, state in claimed:
                    seen.add(spec.name)
                    claimed_at[spec.name] = time.monotonic()
                    turns.wait(spec, state)
            if stopping and turns.names():
                release(engine, owner, turns.drop())
            try:
                ready = _ready_leased(engine, turns, claimed_at, owner, now, lease)
            except StorageError as exc:
                lost, ready = exc, []  # as a failed claim: the feeds in flight finish
            for spec, state in ready:
                claimed_at.pop(spec.name, None)
                future = pool.submit(poll_one, spec, state)
                running[future] = spec
                future.add_done_callback(finished.put)
            if not running:
                break
            if progress is not None and time.monotonic() >= next_renewal and lost is None:
                moved = progress()
                if moved > progress_seen:
                    try:
                        _renew_in_flight(engine, owner, running.values(), now, lease)
                    except StorageError as exc:
                        lost = exc  # as a failed claim: the feeds in flight finish
                progress_seen = moved
                next_renewal = time.monotonic() + renew_every
            timeout = None  # until a feed finishes …
            if (
                exhausted
                and not stopping
                and len(running) < 2 * workers
                and time.monotonic() < keep_until
            ):  # … or it is time to look for feeds that fell due
                timeout = max(0.01, next_claim - time.monotonic())
            elif not exhausted and not stopping and len(running) < 2 * workers:
                timeout = 0  # the feeds claimed last wait for their host: claim on
            if progress is not None:  # … or it is time to renew the leases in flight
                until = max(0.01, next_renewal - time.monotonic())
                timeout = until if timeout is None else min(timeout, until)
            done = _finished(finished, timeout)
            for future in done:
                spec = running.pop(future)
                try:
                    outcome = future.result()
                except StorageError as exc:
                    turns.done(spec, HostPace.FAILED)
                    lost = lost or exc
                    continue
                except Exception as exc:  # already logged with its traceback
                    turns.done(spec, HostPace.FAILED)
                    crashed.append(exc)
                    release(engine, owner, [spec.name])
                    continue
                turns.done(spec, pace_of(outcome) if outcome is not None else HostPace.SLOW)
                if outcome is not None:
                    outcomes.append(outcome)
    if lost is not None:
        raise lost
    engine.release_feeds(owner)
    if crashed:
        raise crashed[0]
    return outcomes


def _finished(
    finished: queue.SimpleQueue[Future[FeedOutcome | None]], timeout: float | None
) -> list[Future[FeedOutcome | None]]:
    """The futures done by now, waiting up to ``timeout`` seconds (None: for as long
    as it takes) for the first: none when the time ran out."""
    try:
        done = [finished.get(timeout=timeout) if timeout != 0 else finished.get_nowait()]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except queue.Empty:
            return done


def _ready_leased(
    engine: Database,
    turns: HostTurns,
    claimed_at: dict[str, float],
    owner: str,
    now: Callable[[], datetime],
    lease: timedelta,
) -> list[tuple[FeedSpec, FeedState]]:
    """The waiting feeds whose host has a free slot, to fetch now. One that waited past
    a third of its lease has the lease renewed first; one whose lease ran out and that
    another worker claimed meanwhile is left to that worker (fetching it too would poll
    it twice at once) and its host's slot goes to the next feed in line."""
    start: list[tuple[FeedSpec, FeedState]] = []
    ready = turns.ready()
    while ready:
        stale = time.monotonic() - lease.total_seconds() / 3
        old = [spec.name for spec, _ in ready if claimed_at.get(spec.name, stale) < stale]
        if not old:
            return start + ready
        kept = engine.renew_leases(owner, old, now=now(), lease=lease)
        lost = set(old) - kept
        for spec, state in ready:
            if spec.name in lost:
                turns.skip(spec)
                del claimed_at[spec.name]
                log.info("feed_lease_lost", feed=spec.name, reason="taken over while it waited")
            else:
                start.append((spec, state))
        if not lost:
            break
        ready = turns.ready()
    return start


def _renew_in_flight(
    engine: Database,
    owner: str,
    running: Iterable[FeedSpec],
    now: Callable[[], datetime],
    lease: timedelta,
) -> None:
    """Renew the leases of the feeds being polled (those another worker took after
    ours ran out stay its: their saves find the lease lost). A feed not renewed may
    also have just been saved, which gives its lease back before the pass sees its
    poll finish: only one another worker holds was lost."""
    names = [spec.name for spec in running]
    kept = engine.renew_leases(owner, names, now=now(), lease=lease)
    missing = set(names) - kept
    if missing:
        for name in sorted(engine.leased_elsewhere(owner, sorted(missing))):
            log.info("feed_lease_lost", feed=name, reason="taken over while it was polled")


def release(engine: Database, owner: str, names: list[str] | None = None) -> None:
    """Give leases back if the database lets us; else they expire by themselves."""
    try:
        engine.release_feeds(owner, names)
    except StorageError as exc:
        log.warning("lease_release_failed", error=str(exc)[:300])
