"""The running daemon's jobs and state: the tick, delivery, the nightly prune, the
sweep of idle connections, the watchdog, reloads, health and database outages.

Jobs (run by a :class:`~monitor.service.timer.Timer`, on the monotonic clock, so a step
of the wall clock never stops them): ``poll-tick`` asks the database which feeds are due
and polls them; ``deliver`` works the outbox; ``prune`` drops old article texts nightly.
A step of the wall clock is noticed at the next tick (and stored next polls moved by a
step back); a SQLite file deleted or replaced under the daemon stops it with exit 1.
SIGTERM/SIGINT stop claiming work, let in-flight feeds finish within the grace period
and exit 0 (a second signal exits at once); SIGHUP re-reads the configuration and
applies it at the next tick, or keeps the running one when the new file is invalid.
Starting and stopping `monitor run` is :mod:`monitor.service.run`; the polling itself
is :mod:`monitor.service.app`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from monitor import storage
from monitor.config.load import load_config
from monitor.config.schema import Config
from monitor.errors import ConfigError, MonitorError, StorageError
from monitor.feedstate.blindness import Sight, check_sight
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.service import systemd
from monitor.service.app import App, build_app, utcnow
from monitor.service.health import tick_health
from monitor.service.heap import trim_heap
from monitor.service.liveness import build_progressed, excused_build, stall_limit
from monitor.service.startup import RETRY_FIRST, RETRY_MAX
from monitor.service.timer import Timer
from monitor.types import PollStatus

log = get_logger("monitor.service.daemon")

CLOCK_STEP = 60.0
"""Seconds the wall clock may drift from the monotonic one between ticks before it
counts as a step (NTP slews far less)."""
PRUNE_AT = (3, 17)
"""The nightly prune's hour and minute, UTC."""


def tick_interval(config: Config) -> timedelta:
    """Tick often enough for the most frequent feed, at most every `tick`."""
    shortest = min((f.interval for f in config.feeds if f.enabled), default=config.tick)
    return max(timedelta(seconds=1), min(config.tick, shortest))


def restart_only_changes(running: Config, new: Config) -> list[str]:
    """Settings a reload cannot apply (the open database, the bound listener) that
    differ in ``new``; named, never shown (a database URL may hold a password)."""
    changed = []
    if new.database != running.database:
        changed.append("database")
    if new.http.listen != running.http.listen:
        changed.append("http.listen")
    if new.http.token != running.http.token:
        changed.append("http.token")
    return changed


@dataclass
class Daemon:
    config: Config
    config_path: Path
    app: App
    metrics: Metrics
    stop: threading.Event = field(default_factory=threading.Event)
    pending_config: Config | None = None
    last_tick: datetime | None = None
    built_by_last_tick: float = 0.0
    """The parser pool's build seconds (:class:`~monitor.parsing.pool.BuildClock`) when
    the last tick finished (or at the start)."""
    tick_started: float | None = None
    """Monotonic start of the tick in progress (None between ticks)."""
    started_at: datetime = field(default_factory=utcnow)
    db_ok: bool = True
    retry_delay: float = 0.0
    retry_at: float = 0.0
    """time.monotonic() before which database work waits (backoff during an outage)."""
    signals: int = 0
    watching_since: datetime | None = None
    """Since when a blindness counts (the start, unless a restart found one going on)."""
    sight: Sight | None = None
    """Whether any feed was polled successfully within ``health.blind_after`` (None
    until read from the stored sight alerts at the first check)."""
    scheduler: Timer | None = None
    exit_code: int = 0
    clock_offset: float | None = None
    """Wall minus monotonic seconds at the last tick: a change is a step of the clock."""
    database_file: tuple[Path, int, int] | None = None
    """The SQLite file this daemon opened: path, device, inode."""
    pruned_on: str | None = None
    _busy: threading.Lock = field(default_factory=threading.Lock)
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)
    _outage_lock: threading.Lock = field(default_factory=threading.Lock)
    """The tick and the delivery round notice an outage (and its end) at once."""

    # --- jobs -------------------------------------------------------------
    def tick(self) -> None:
        if self.stop.is_set():
            return
        if self._backing_off():
            systemd.watchdog()  # alive and waiting for the database, not stalled
            return
        with self._busy:
            started = self.tick_started = time.monotonic()
            try:
                self._tick(started)
            finally:
                self.tick_started = None
                # What the tick freed goes back to the system, not into a heap that
                # only grows (monitor.service.heap).
                trim_heap()

    def _tick(self, started: float) -> None:
        if not self._database_file_ok():
            return
        try:
            self._check_clock()
            self._apply_reload()
            outcomes = self.app.poll(
                due_only=True, stop=self.stop, keep_claiming=self._deadlines().total_seconds()
            )
            self.app.deliver(stop=self.stop, wait=False)
            failing = storage.count_failing_feeds(self.app.engine)
            self._check_sight()
        except StorageError as exc:
            self._db_down(exc)
            systemd.watchdog()
            return
        self._db_up()
        self.last_tick = utcnow()
        self.built_by_last_tick = self.app.parser.builds.seconds()  # after: never too little
        duration = time.monotonic() - started
        self.metrics.set_failing(failing)
        self.metrics.record_tick(self.last_tick, duration)
        systemd.watchdog()
        # An idle tick (nothing was due) is routine: the log says so only at debug level.
        (log.info if outcomes else log.debug)(
            "tick_finished",
            feeds=len(outcomes),
            new=sum(o.new for o in outcomes),
            alerts=sum(len(o.alerts) for o in outcomes),
            failed=sum(o.status is PollStatus.ERROR for o in outcomes),
            duration=round(duration, 3),
        )

    def _check_sight(self) -> None:
        """Blind when no enabled feed has been polled successfully for
        ``health.blind_after``: one operator alert, and /healthz says so."""
        if self.sight is None:
            # A restart during an outage already alerted stays blind (no second
            # "blind"; "sighted" when polls succeed again).
            stored = storage.last_sight_topic(self.app.engine)
            self.sight = Sight.BLIND if stored == "monitor:blind" else Sight.SIGHTED
            if self.sight is Sight.BLIND:
                # No grace period for a fresh start: only a success ends this blindness.
                self.watching_since = datetime.min.replace(tzinfo=UTC)
        last_success, enabled = storage.last_success_of_any(self.app.engine)
        now = utcnow()
        checked = check_sight(
            self.sight,
            last_success=last_success,
            watching_since=self.watching_since or self.started_at,
            enabled_feeds=enabled,
            now=now,
            blind_after=self.config.health.blind_after,
        )
        if checked.alert is not None:
            storage.save_operator_alert(
                self.app.engine, checked.alert, self.app.pipeline.policy, now
            )
            if checked.sight is Sight.BLIND:
                log.error("monitor_blind", since=checked.since.isoformat(), feeds=enabled)
            else:
                log.info("monitor_sighted")
        self.sight = checked.sight
        self.metrics.blind.set(1 if checked.sight is Sight.BLIND else 0)

    def deliver(self) -> None:
        if self.stop.is_set() or self._backing_off():
            return
        try:
            self.app.deliver(stop=self.stop, wait=False)
        except StorageError as exc:
            self._db_down(exc)

    def sweep_connections(self) -> None:
        self.app.sweep_connections()

    def prune_nightly(self) -> None:
        """Run often; prunes once a UTC day, after :data:`PRUNE_AT`."""
        now = utcnow()
        today = now.date().isoformat()
        if (now.hour, now.minute) >= PRUNE_AT and self.pruned_on != today:
            self.pruned_on = today
            self.prune()

    def prune(self) -> None:
        cutoff = utcnow() - self.config.retention
        try:
            removed = storage.prune_articles(self.app.engine, cutoff)
        except StorageError as exc:
            self._db_down(exc)
            return
        log.info("articles_pruned", removed=removed, older_than=cutoff.isoformat())

    def _check_clock(self) -> None:
        """Notice a step of the wall clock; after a step back, move the stored schedule
        back by as much, or nothing would be due until the clock caught up."""
        offset = time.time() - time.monotonic()
        previous, self.clock_offset = self.clock_offset, offset
        if previous is None or abs(offset - previous) < CLOCK_STEP:
            return
        step = offset - previous
        log.warning("clock_stepped", seconds=round(step, 1))
        if step < 0:
            moved = storage.shift_schedule(self.app.engine, timedelta(seconds=step), utcnow())
            log.info("schedule_shifted", seconds=round(step, 1), moved=moved)

    def _database_file_ok(self) -> bool:
        """False (and the daemon stopping with exit 1) once the SQLite file at the
        configured path is not the one open: deleted or replaced, everything written
        after would be lost with the unlinked file."""
        if self.database_file is None:
            return True
        path, device, inode = self.database_file
        try:
            st = path.stat()
            same = (st.st_dev, st.st_ino) == (device, inode)
            reason = "replaced by another file"
        except OSError as exc:
            same, reason = False, f"gone ({exc.strerror or exc})"
        if same:
            return True
        log.critical(
            "database_file_lost",
            path=str(path),
            reason=reason,
            detail="the open database is no longer at its path; stopping so that nothing "
            "more is written where no one will find it (a restart opens a new file)",
        )
        self.exit_code = 1
        self.on_signal(signal.SIGTERM, None)
        return False

    def _backing_off(self) -> bool:
        return not self.db_ok and time.monotonic() < self.retry_at

    def _db_down(self, exc: Exception) -> None:
        """One log line per outage; later failures only lengthen the wait."""
        with self._outage_lock:  # logged inside: the lines in the order of the changes
            self.retry_delay = min(RETRY_MAX, self.retry_delay * 2 or RETRY_FIRST)
            self.retry_at = time.monotonic() + self.retry_delay
            if self.db_ok:
                log.error("database_unavailable", error=str(exc)[:300], retry_in=self.retry_delay)
            self.db_ok = False

    def _db_up(self) -> None:
        with self._outage_lock:
            if not self.db_ok:
                log.info("database_available")
            self.db_ok = True
            self.retry_delay = 0.0

    def watch_ticks(self, every: float = 5.0) -> None:
        """Log once when a tick runs far past its deadlines (a bug, not a slow feed),
        and feed the systemd watchdog while a tick waits for the parser workers'
        compile of the topics (a long one would outlast ``WatchdogSec``).

        Fetch and parse deadlines bound a tick; this notices if they ever do not. The
        watchdog is otherwise fed when a tick finishes (or while the daemon waits for
        its database), so a tick that hangs for anything else starves it and systemd
        notices too.
        """
        warned: float | None = None
        seen = self.app.parser.builds.seconds()
        while not self.stop.wait(every):
            parser = self.app.parser
            clock = parser.builds.seconds()
            built = clock - self.built_by_last_tick
            if build_progressed(seen, clock, built, parser.build_deadline):
                systemd.watchdog()
            seen = clock
            started = self.tick_started
            limit = stall_limit(tick_interval(self.config).total_seconds(), self._excused_build())
            if started is not None and time.monotonic() - started > limit and warned != started:
                warned = started
                log.error("tick_stalled", running_for=round(time.monotonic() - started, 1))

    # --- reload -----------------------------------------------------------
    def request_reload(self) -> None:
        """SIGHUP: validate now, apply at the next tick; a bad file changes nothing."""
        systemd.reloading()
        self.app.alert_log.reopen()
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error(
                "config_reload_failed",
                path=str(self.config_path),
                problems=[str(p) for p in exc.problems],
            )
            systemd.ready()
            return
        except Exception as exc:  # a bug in loading: the running configuration stays
            log.exception("config_reload_failed", path=str(self.config_path), error=repr(exc))
            systemd.ready()
            return
        with self._reload_lock:
            self.pending_config = config
        log.info("config_reload_accepted", path=str(self.config_path))
        changed = restart_only_changes(self.config, config)
        if changed:
            log.warning(
                "config_restart_required",
                settings=changed,
                detail="these settings apply at the next start; the running daemon "
                "keeps the old values, the rest of the file is applied",
            )
        systemd.ready()

    def _apply_reload(self) -> None:
        with self._reload_lock:
            config, self.pending_config = self.pending_config, None
        if config is None:
            return
        try:
            new_app = build_app(
                config,
                engine=self.app.engine,
                metrics=self.metrics,
                owner=self.app.owner,
                parser=self.app.parser,  # the workers outlive a configuration
            )
        except (MonitorError, ValueError) as exc:
            log.error("config_reload_failed", path=str(self.config_path), problems=[str(exc)])
            return
        try:
            # Compiled here, in the tick, before any feed of the new configuration is
            # polled: not by the first poll that finds a new article, while others wait.
            new_app.prepare()
        except (MonitorError, ValueError) as exc:
            new_app.pipeline.fetcher.close()
            new_app.deliverer.close()
            log.error("config_reload_failed", path=str(self.config_path), problems=[str(exc)])
            return
        try:
            new_app.sync_feeds()
        except StorageError:
            # Keep it for the tick after the outage; the running app stays as it is.
            with self._reload_lock:
                self.pending_config = self.pending_config or config
            new_app.pipeline.fetcher.close()
            new_app.deliverer.close()
            raise
        old = self.app
        self.app, self.config = new_app, config
        old.pipeline.fetcher.close()
        old.deliverer.close()
        for channel in old.channels.values():
            channel.close()
        self._reschedule()
        log.info(
            "config_reloaded",
            feeds=len(config.feeds),
            topics=len(config.topics),
            channels=len(config.notify),
        )

    def _reschedule(self) -> None:
        if self.scheduler is not None:
            self.scheduler.reschedule("poll-tick", tick_interval(self.config).total_seconds())

    def _deadlines(self) -> timedelta:
        """The longest one feed's poll may take: the fetch and the parse deadlines."""
        return self.config.http.timeout + timedelta(seconds=self.app.pipeline.parse_deadline)

    def _excused_build(self) -> float:
        """Seconds the parser workers compiled since the last tick finished, as far as
        they excuse a tick (at most one build deadline: :mod:`monitor.service.liveness`)."""
        parser = self.app.parser
        built = parser.builds.seconds() - self.built_by_last_tick
        return excused_build(built, parser.build_deadline)

    # --- health -----------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, object]]:
        db_ok = self.db_ok
        if db_ok:
            try:
                storage.ping(self.app.engine)
            except Exception:  # any failure to answer means unhealthy, not a crash
                db_ok = False
        # A pass keeps claiming due feeds for up to one poll's deadlines while its
        # slowest feed runs, and a feed claimed last may take them again. A parser
        # worker compiling the topics (after a reload, or a new worker's start: up to
        # the pool's build deadline) holds its feed's poll back that long besides.
        slack = 2 * self._deadlines() + timedelta(seconds=self._excused_build())
        ok, details = tick_health(
            self.last_tick,
            tick_interval(self.config),
            utcnow(),
            db_ok,
            started_at=self.started_at,
            slack=slack,
        )
        if self.sight is Sight.BLIND:
            blind = (
                "blind: no enabled feed polled successfully for "
                f"{self.config.health.blind_after.total_seconds():.0f}s"
            )
            details["reason"] = "; ".join(filter(None, [str(details.get("reason") or ""), blind]))
            details["status"] = "blind"
            return False, details
        return ok, details

    # --- signals ----------------------------------------------------------
    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            log.warning("shutdown_forced", signal=signal.Signals(signum).name)
            os._exit(self.exit_code)
        log.info("shutdown_requested", signal=signal.Signals(signum).name)
        systemd.stopping()
        self.stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown()
