"""Builds the running parts from a :class:`Config`: database, fetcher, topics, channels.

Shared by the commands and the daemon, so `monitor poll` and `monitor run` are
the same machine. Holds no logic of its own beyond wiring and clean-up.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import storage
from monitor.alerts.base import Channel, build_channels
from monitor.alerts.logfile import AlertLog
from monitor.alerts.stories import same_story, same_story_fingerprints, topic_words
from monitor.config.schema import Config
from monitor.errors import StorageError
from monitor.fetching.client import Fetcher
from monitor.fetching.settings import FetchSettings
from monitor.log import get_logger
from monitor.metrics import Metrics
from monitor.pipeline import FeedOutcome, Pipeline, poll_feed
from monitor.service.delivery import Deliverer
from monitor.service.hostturns import HostTurns
from monitor.topics import TopicSet, compile_topics
from monitor.types import FeedSpec, FeedState

log = get_logger("monitor.service.app")

FEED_LEASE = timedelta(minutes=5)
"""The default of ``lease.feeds``: longer than the worst poll (30 s fetch + 30 s parse
+ storing) times the claimed feeds a thread works through."""


RECLAIM_EVERY = 0.5
"""Seconds between claims while a pass waits on its last feeds (``keep_claiming``)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_id() -> str:
    """Who holds a lease: readable in the database, unique per process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class App:
    config: Config
    engine: Engine
    pipeline: Pipeline
    deliverer: Deliverer
    alert_log: AlertLog
    channels: dict[str, Channel]
    metrics: Metrics
    owner: str
    now: Callable[[], datetime] = utcnow
    _closed: bool = field(default=False)

    @property
    def topics(self) -> TopicSet:
        return self.pipeline.topics

    def sync_feeds(self) -> None:
        storage.sync_feeds(self.engine, self.config.feed_specs(), self.now())

    def poll(
        self,
        *,
        names: list[str] | None = None,
        due_only: bool = False,
        stop: threading.Event | None = None,
        pipeline: Pipeline | None = None,
        keep_claiming: float | None = None,
    ) -> list[FeedOutcome]:
        """Poll feeds (all enabled, the named, or the due ones) until none is left.

        Feeds are claimed a few at a time, whenever the pool runs low, rather than in
        batches waited for as a whole: a slow server holds up its own feed, not the
        batch it was claimed with. Each feed is polled once a pass; but with
        ``keep_claiming`` (seconds, the daemon's due-only passes), while the last feeds
        of a pass are still in flight (a server that drips or never answers, up to the
        fetch deadline), feeds that fall due meanwhile are claimed and polled too, those
        polled earlier in the pass included, until the pass is that old: one hanging
        server does not hold back the feeds of every other.

        Raises :class:`StorageError` when the database goes away: claiming stops, the
        feeds in flight finish (their saves fail and their leases stay ours, so the
        next pass polls them again) and nothing fetched is counted as stored.
        """
        pipe = pipeline or self.pipeline
        outcomes: list[FeedOutcome] = []
        crashed: list[BaseException] = []
        lost: StorageError | None = None
        workers = self.config.workers
        batch = max(4, workers * 4)
        seen: set[str] = set()
        running: dict[Future[FeedOutcome | None], FeedSpec] = {}
        # A feed whose host has all its slots in use waits here, not on a worker
        # thread (80 feeds of a host that never answers held every worker).
        turns = HostTurns(self.pipeline.fetcher.settings.per_host)
        exhausted = False
        started = time.monotonic()
        keep_until = started + keep_claiming if due_only and keep_claiming else started
        next_claim = started
        # Leases we still hold come from a pass whose saves failed (the database went
        # away between fetch and store): nothing of ours is in flight now, so give
        # them back and poll those feeds again instead of waiting for them to expire.
        storage.release_feeds(self.engine, self.owner)
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
                    exclude = (
                        {s.name for s in running.values()} | turns.names() if exhausted else seen
                    )
                    try:
                        claimed = storage.claim_feeds(
                            self.engine,
                            owner=self.owner,
                            now=self.now(),
                            lease=self.config.lease.feeds,
                            limit=batch - len(running),
                            names=names,
                            due_only=due_only,
                            exclude=exclude,
                        )
                    except StorageError as exc:
                        lost, claimed = exc, []
                    exhausted = not claimed
                    next_claim = clock + RECLAIM_EVERY
                    for spec, state in claimed:
                        seen.add(spec.name)
                        turns.wait(spec, state)
                if stopping and turns.names():
                    self._release(turns.drop())
                for spec, state in turns.ready():
                    running[pool.submit(self._poll_one, pipe, spec, state, stop)] = spec
                if not running:
                    break
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
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    spec = running.pop(future)
                    turns.done(spec)
                    try:
                        outcome = future.result()
                    except StorageError as exc:
                        lost = lost or exc
                        continue
                    except Exception as exc:  # already logged with its traceback
                        crashed.append(exc)
                        self._release([spec.name])
                        continue
                    if outcome is not None:
                        outcomes.append(outcome)
        if lost is not None:
            raise lost
        storage.release_feeds(self.engine, self.owner)
        if crashed:
            raise crashed[0]
        return outcomes

    def _release(self, names: list[str] | None = None) -> None:
        """Give leases back if the database lets us; else they expire by themselves."""
        try:
            storage.release_feeds(self.engine, self.owner, names)
        except StorageError as exc:
            log.warning("lease_release_failed", error=str(exc)[:300])

    def _poll_one(
        self, pipe: Pipeline, spec: FeedSpec, state: FeedState, stop: threading.Event | None
    ) -> FeedOutcome | None:
        if stop is not None and stop.is_set():
            self._release([spec.name])
            return None
        return poll_feed(pipe, spec, state, self.now())

    def deliver(
        self, *, due_only: bool = True, stop: threading.Event | None = None, wait: bool = True
    ) -> None:
        self.deliverer.deliver(self.now, due_only=due_only, stop=stop, wait=wait)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.deliverer.close()
        try:
            storage.release_feeds(self.engine, self.owner)
            storage.release_deliveries(self.engine, self.owner)
        except StorageError as exc:  # the database is gone: the leases simply expire
            log.warning("lease_release_failed", error=str(exc)[:300])
        self.pipeline.fetcher.close()
        for channel in self.channels.values():
            channel.close()
        self.engine.dispose()


def alert_policy(
    config: Config, topics: TopicSet, channels: dict[str, Channel], *, raise_alerts: bool = True
) -> storage.AlertPolicy:
    # A topic's own words are shared by all its titles: they do not make two one story.
    words = {tid: topic_words(topics.terms(tid)) for tid in topics.ids}
    return storage.AlertPolicy(
        channels=tuple(
            (name, ch.topics) for name, ch in channels.items() if name != storage.LOG_CHANNEL
        ),
        max_age=config.max_age,
        topic_names={tid: topics.name(tid) for tid in topics.ids},
        same_story=lambda topic, a, b, lang: same_story(a, b, lang, words.get(topic)),
        same_fingerprint=lambda topic, a, b: same_story_fingerprints(a, b, words.get(topic)),
        raise_alerts=raise_alerts,
    )


def fetch_settings(config: Config) -> FetchSettings:
    settings = FetchSettings(
        allow_private_networks=config.http.allow_private_networks,
        total_timeout=config.http.timeout.total_seconds(),
        max_bytes=config.http.max_bytes,
    )
    if config.http.user_agent:
        settings = replace(settings, user_agent=config.http.user_agent)
    return settings


def build_app(
    config: Config,
    *,
    engine: Engine | None = None,
    catch_up: bool = False,
    metrics: Metrics | None = None,
    owner: str | None = None,
) -> App:
    """Everything `monitor poll` / `monitor run` need, from one configuration."""
    engine = engine or storage.open_database(config.database)
    topics = compile_topics(config.topics)
    owner = owner or worker_id()
    metrics = metrics or Metrics()
    alert_log = AlertLog(config.alert_log)
    channels: dict[str, Channel] = {storage.LOG_CHANNEL: alert_log}
    for channel in build_channels(config.notify, config.smtp):
        channels[channel.name] = channel
    policy = alert_policy(config, topics, channels, raise_alerts=not catch_up)
    pipeline = Pipeline(
        engine=engine,
        fetcher=Fetcher(fetch_settings(config)),
        topics=topics,
        policy=policy,
        owner=owner,
        metrics=metrics,
    )
    deliverer = Deliverer(
        engine=engine,
        channels=channels,
        policy=policy,
        schedule=config.delivery.schedule,
        owner=owner,
        metrics=metrics,
        lease=config.lease.deliveries,
    )
    return App(
        config=config,
        engine=engine,
        pipeline=pipeline,
        deliverer=deliverer,
        alert_log=alert_log,
        channels=channels,
        metrics=metrics,
        owner=owner,
    )
