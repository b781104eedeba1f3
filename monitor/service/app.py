"""Builds the running parts from a :class:`Config`: database, fetcher, topics, channels.

Shared by the commands and the daemon, so `monitor poll` and `monitor run` are
the same machine. Holds no logic of its own beyond wiring and clean-up: a poll pass
is :mod:`monitor.service.passes`', one feed's poll :mod:`monitor.pipeline`'s. The app
owns what it starts (the parser worker processes, the HTTP client, the channels) and
:meth:`App.close` stops them.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor import storage
from monitor.alerts import AlertPolicy
from monitor.alerts.base import Channel, build_channels
from monitor.alerts.logfile import AlertLog
from monitor.alerts.naming import channel_cadences, channel_names
from monitor.config import Config
from monitor.errors import StorageError
from monitor.fetching import Fetcher, FetchSettings
from monitor.fulltext import PageReader
from monitor.log import get_logger
from monitor.parsing import ParserPool
from monitor.pipeline import FeedOutcome, Pipeline, poll_feed
from monitor.service import hostturns
from monitor.service.deferred import DeferredMapping, once
from monitor.service.delivery import Deliverer
from monitor.service.passes import run_pass
from monitor.sifting import TopicSource
from monitor.storage.handover import Database
from monitor.types import FeedSpec

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.alerts.crosslang import EntityTable
    from monitor.alerts.stories import TopicWords
    from monitor.metrics import Metrics
    from monitor.signals import ConfirmRule, HotRule, SurgeRule
    from monitor.topics import TopicSet

PER_HOST = 2
"""Fetches in flight to one host while it is not known to answer fast (issue 15)."""

log = get_logger("monitor.service.app")


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_id() -> str:
    """Who holds a lease: readable in the database, unique per process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class App:
    config: Config
    db: Database
    """The database: an unchanged `monitor poll` on SQLite runs without SQLAlchemy
    (:mod:`monitor.storage.handover`)."""
    pipeline: Pipeline
    deliverer: Deliverer
    alert_log: AlertLog
    channels: dict[str, Channel]
    metrics: Metrics | None
    """The daemon's series; None in a one-shot command, which exports none."""
    owner: str
    parser: ParserPool
    """The parser worker processes; this app shuts them down in :meth:`close`."""
    now: Callable[[], datetime] = utcnow
    _closed: bool = field(default=False)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (opened now, if the poll ran without it so far)."""
        return self.db.engine

    @property
    def topics(self) -> TopicSet:
        return self.pipeline.topics

    def prepare(self) -> None:
        """Build now what is otherwise built at its first use: the topics compiled and
        the alert policy's tables. The daemon does so at start and at each reload, so
        that its first detection waits for no compile (10,000 topics take seconds) and
        a topic that cannot be built is refused there, not feed by feed; a one-shot
        `monitor poll` whose feeds are unchanged never needs them."""
        self.pipeline.prepare()

    @functools.cached_property
    def feed_specs(self) -> tuple[FeedSpec, ...]:
        """The configuration's feeds, made once per app (a pass and the sync both ask)."""
        return tuple(self.config.feed_specs())

    def sync_feeds(self) -> None:
        self.db.sync_feeds(self.feed_specs, self.now())

    def poll(
        self,
        *,
        names: list[str] | None = None,
        due_only: bool = False,
        stop: threading.Event | None = None,
        pipeline: Pipeline | None = None,
        keep_claiming: float | None = None,
    ) -> list[FeedOutcome]:
        """Poll feeds (all enabled, the named, or the due ones) until none is left: one
        pass of :func:`monitor.service.passes.run_pass` (see there, also for
        ``keep_claiming`` and what happens when the database goes away)."""
        pipe = pipeline or self.pipeline
        # The database's feed rows hold what claiming needs (name, URL, interval); the
        # rest of a feed's settings (cache hints, when it is down …) come from the file.
        configured = {s.name: s for s in self.feed_specs}
        return run_pass(
            self.db,
            lambda spec, state: poll_feed(pipe, _configured(spec, configured), state, self.now()),
            owner=self.owner,
            now=self.now,
            lease=self.config.lease.feeds,
            workers=self.config.workers,
            names=names,
            due_only=due_only,
            stop=stop,
            keep_claiming=keep_claiming,
            per_host=PER_HOST,
            per_host_ceiling=fetch_settings(self.config).per_host,
            progress=self.parser.builds.seconds,  # a compile holds polls back
        )

    def deliver(
        self, *, due_only: bool = True, stop: threading.Event | None = None, wait: bool = True
    ) -> None:
        if self.db.outbox_quiet(self.now()):
            return  # nothing pending, no lease of another worker: the round would do nothing
        self.deliverer.deliver(self.now, due_only=due_only, stop=stop, wait=wait)

    def sweep_connections(self) -> None:
        """Close the fetcher's kept-alive connections that are of no more use (between
        ticks no fetch would notice a server's hang-up: its socket sat in CLOSE_WAIT)."""
        if isinstance(self.pipeline.fetcher, Fetcher):
            self.pipeline.fetcher.sweep()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.deliverer.close()
        try:
            self.db.release_feeds(self.owner)
            self.db.release_deliveries(self.owner)
        except StorageError as exc:  # the database is gone: the leases simply expire
            log.warning("lease_release_failed", error=str(exc)[:300])
        self.pipeline.fetcher.close()
        self.parser.shutdown()
        for channel in self.channels.values():
            channel.close()
        self.db.close()


def _configured(stored: FeedSpec, configured: Mapping[str, FeedSpec]) -> FeedSpec:
    """The feed as the configuration has it, with the stored row's URL and interval
    (the same, once synced; a feed the file no longer has keeps its stored spec)."""
    spec = configured.get(stored.name)
    if spec is None:
        return stored
    return replace(spec, url=stored.url, interval=stored.interval, enabled=stored.enabled)


def alert_policy(
    config: Config,
    topics: Callable[[], TopicSet],
    channels: dict[str, Channel],
    *,
    raise_alerts: bool = True,
) -> AlertPolicy:
    """The policy of ``config``; its tables of topic names and words are built at their
    first use (a pass whose feeds all answer 304 or the same bytes never looks at them),
    ``topics()`` compiled then too."""
    return AlertPolicy(
        channels=tuple(
            (name, ch.topics) for name, ch in channels.items() if name != storage.LOG_CHANNEL
        ),
        max_age=config.max_age,
        topic_names=DeferredMapping(lambda: {tid: topics().name(tid) for tid in topics().ids}),
        # A topic's own words are shared by all its titles: they make no two one story.
        topic_words=DeferredMapping(lambda: _topic_words(topics())),
        raise_alerts=raise_alerts,
        # Names that are one across languages: a story in Russian and English is one.
        entity_tables=DeferredMapping(lambda: _entity_tables(config)),
        **signal_rules(config),
    )


def _prepared(topics: Callable[[], TopicSet], policy: AlertPolicy) -> Callable[[], None]:
    """What builds ``topics`` and every table of ``policy`` that is built at first use."""

    def build() -> None:
        topics()
        for f in fields(policy):
            value = getattr(policy, f.name)
            if isinstance(value, DeferredMapping):
                value.build()

    return once(build)


def _compiled(config: Config) -> TopicSet:
    from monitor.topics import compile_topics

    return compile_topics(config.topics, checked=config.topics_checked)


def _topic_words(topics: TopicSet) -> dict[str, TopicWords]:
    from monitor.alerts.stories import topic_words

    return {tid: topic_words(topics.terms(tid)) for tid in topics.ids}


def _entity_tables(config: Config) -> dict[str, EntityTable]:
    from monitor.alerts.crosslang import topic_table

    return {t.id: topic_table(t) for t in config.topics}


def signal_rules(config: Config) -> dict[str, Any]:
    """The outlets of the feeds and the topics' signal rules, as plain data (each table
    built at its first use: a pass of unchanged feeds raises no signal)."""
    return {
        "sources": DeferredMapping(lambda: {f.name: f.outlet() for f in config.feeds}),
        "confirm": DeferredMapping(lambda: _confirm_rules(config)),
        "surge": DeferredMapping(lambda: _surge_rules(config)),
        "hot": DeferredMapping(lambda: _hot_rules(config)),
    }


def _confirm_rules(config: Config) -> dict[str, ConfirmRule]:
    from monitor.signals import DEFAULT_FOLLOW_UP, ConfirmRule

    confirm: dict[str, ConfirmRule] = {}
    for t in config.topics:
        if t.confirm is not None:
            kinds = frozenset(t.confirm.kinds) if t.confirm.kinds else None
            rule = ConfirmRule(t.confirm.outlets, t.confirm.within, kinds)
            confirm[t.id] = replace(rule, hold=not t.notify_confirmation)
        elif t.notify_confirmation:
            confirm[t.id] = DEFAULT_FOLLOW_UP
    return confirm


def _surge_rules(config: Config) -> dict[str, SurgeRule]:
    from monitor.signals import SurgeRule

    return {
        t.id: SurgeRule(t.surge.factor, t.surge.window, t.surge.min)
        for t in config.topics
        if t.surge is not None
    }


def _hot_rules(config: Config) -> dict[str, HotRule]:
    from monitor.signals import HotRule

    return {t.id: HotRule(t.hot.interval, t.hot.for_) for t in config.topics if t.hot is not None}


def adopt_legacy_channels(db: Database, config: Config) -> None:
    """Outbox rows an older version stored under a channel's ``name:`` move to its key."""
    moves = {n.legacy: n.key for n in channel_names(config.notify) if n.legacy}
    if moves:
        storage.rename_channels(db.engine, moves)


def fetch_settings(config: Config) -> FetchSettings:
    settings = FetchSettings(
        allow_private_networks=config.http.allow_private_networks,
        total_timeout=config.http.timeout.total_seconds(),
        max_bytes=config.http.max_bytes,
        # the fetcher's hard cap per host; a pass starts each host at PER_HOST and
        # lets a fast one up to this (monitor.service.hostturns)
        per_host=hostturns.CEILING,
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
    parser: ParserPool | None = None,
    direct: bool = False,
) -> App:
    """Everything `monitor poll` / `monitor run` need, from one configuration.

    ``parser``: the worker processes of an app this one replaces (a reload), so the
    workers outlive the configuration; by default a new pool, started on first use.
    ``metrics``: the daemon's series to record in; without, nothing is recorded (a
    one-shot command such as `monitor poll` has nobody to export them to).
    ``direct``: a current SQLite file is polled without SQLAlchemy for as long as
    nothing changed (`monitor poll`: :mod:`monitor.storage.handover`).
    """
    parser = parser or ParserPool()
    db = Database.of(engine) if engine else Database.open(config.database, direct=direct)
    topics = once(lambda: _compiled(config))
    owner = owner or worker_id()
    alert_log = AlertLog(config.alert_log)
    channels: dict[str, Channel] = {storage.LOG_CHANNEL: alert_log}
    built: list[Channel] | None = config.take_channels()  # the loader's, if it built them
    for channel in built if built is not None else build_channels(config.notify, config.smtp):
        channels[channel.key] = channel
    adopt_legacy_channels(db, config)
    policy = alert_policy(config, topics, channels, raise_alerts=not catch_up)
    fetcher = Fetcher(fetch_settings(config))
    pipeline = Pipeline(
        db=db,
        fetcher=fetcher,
        pages=PageReader(fetcher, modes={f.name: f.fulltext for f in config.feeds}, parser=parser),
        compiled_topics=topics,
        policy=policy,
        owner=owner,
        metrics=metrics,
        parser=parser,
        topic_source=TopicSource.of(config.topics, checked=config.topics_checked),
        prepare=_prepared(topics, policy),
        parse_deadline=config.parse_timeout.total_seconds(),
    )
    deliverer = Deliverer(
        db=db,
        channels=channels,
        policy=policy,
        schedule=config.delivery.schedule,
        owner=owner,
        metrics=metrics,
        lease=config.lease.deliveries,
        cadences=channel_cadences(config.notify),
    )
    return App(
        config=config,
        db=db,
        pipeline=pipeline,
        deliverer=deliverer,
        alert_log=alert_log,
        channels=channels,
        metrics=metrics,
        owner=owner,
        parser=parser,
    )
