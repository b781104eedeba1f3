"""The Prometheus metrics of `monitor run`, in a registry of their own.

One :class:`Metrics` object per daemon holds every series in its own
``CollectorRegistry`` (never the process-global one, so tests, reloads and a second
daemon in one process do not collide). The pipeline and the daemon call the
``record_*``/``set_*`` methods; :mod:`monitor.web.app` serves :meth:`Metrics.render`
at ``/metrics``.

Labels are only configured names (feed names, topic ids, channel names) and short
result words, never URLs, titles or error messages, so the number of series stays
bounded by the configuration. This module does not time anything or read a clock:
callers pass durations and timestamps.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The ``Content-Type`` of :meth:`Metrics.render`'s output."""

# Fetches range from a 304 on loopback (~1 ms) to a slow server hitting the timeout.
_FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TICK_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LABEL_MAX = 100
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def _label(value: str) -> str:
    """A label value that cannot break the exposition or grow without bound."""
    return _UNSAFE.sub("", str(value))[:_LABEL_MAX] or "unknown"


class Metrics:
    """Every series `monitor run` exports; thread-safe (prometheus-client locks)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.polls = Counter(
            "monitor_polls",
            "Feed polls by feed and result (ok, not_modified, or the error kind).",
            ["feed", "result"],
            registry=reg,
        )
        self.fetch_duration = Histogram(
            "monitor_fetch_duration_seconds",
            "Time to fetch one feed, over all feeds.",
            buckets=_FETCH_BUCKETS,
            registry=reg,
        )
        self.articles = Counter(
            "monitor_articles_stored",
            "New or changed articles stored, by feed.",
            ["feed"],
            registry=reg,
        )
        self.matches = Counter(
            "monitor_matches",
            "Articles matched, by topic.",
            ["topic"],
            registry=reg,
        )
        self.alerts = Counter(
            "monitor_alerts",
            "Alerts raised, by topic.",
            ["topic"],
            registry=reg,
        )
        self.deliveries = Counter(
            "monitor_deliveries",
            "Delivery attempts by channel and result.",
            ["channel", "result"],
            registry=reg,
        )
        self.backlog = Gauge(
            "monitor_outbox_backlog",
            "Alert deliveries waiting in the outbox.",
            registry=reg,
        )
        self.failing = Gauge(
            "monitor_feeds_failing",
            "Feeds whose last poll failed.",
            registry=reg,
        )
        self.last_tick = Gauge(
            "monitor_last_tick_timestamp_seconds",
            "When the last poll tick finished (unix seconds; 0 before the first).",
            registry=reg,
        )
        self.last_success = Gauge(
            "monitor_feed_last_success_timestamp_seconds",
            "When each feed was last polled successfully (unix seconds).",
            ["feed"],
            registry=reg,
        )
        self.blind = Gauge(
            "monitor_blind",
            "1 while no enabled feed has been polled successfully for health.blind_after.",
            registry=reg,
        )
        self.ticks = Counter("monitor_ticks", "Poll ticks finished.", registry=reg)
        self.tick_duration = Histogram(
            "monitor_tick_duration_seconds",
            "Time one poll tick took.",
            buckets=_TICK_BUCKETS,
            registry=reg,
        )
        # Which label values exist, so series of feeds removed by a reload can be dropped.
        self._lock = threading.Lock()
        self._poll_labels: set[tuple[str, str]] = set()
        self._feed_labels: set[str] = set()
        self._success_labels: set[str] = set()

    def record_poll(self, feed: str, result: str, duration: float | None = None) -> None:
        """One poll of ``feed`` ended with ``result``; ``duration`` is the fetch time (s)."""
        labels = (_label(feed), _label(result))
        with self._lock:
            self._poll_labels.add(labels)
        self.polls.labels(*labels).inc()
        if duration is not None and duration >= 0:
            self.fetch_duration.observe(duration)

    def record_articles(self, feed: str, count: int) -> None:
        """``count`` new or changed articles of ``feed`` were stored."""
        name = _label(feed)
        with self._lock:
            self._feed_labels.add(name)
        child = self.articles.labels(name)
        if count > 0:
            child.inc(count)

    def record_match(self, topic: str, count: int = 1) -> None:
        """``count`` articles matched ``topic``."""
        if count > 0:
            self.matches.labels(_label(topic)).inc(count)

    def record_alert(self, topic: str, count: int = 1) -> None:
        """``count`` alerts were raised for ``topic``."""
        if count > 0:
            self.alerts.labels(_label(topic)).inc(count)

    def record_delivery(self, channel: str, result: str) -> None:
        """One delivery attempt to ``channel`` ended with ``result`` (ok, retry, failed …)."""
        self.deliveries.labels(_label(channel), _label(result)).inc()

    def set_backlog(self, count: int) -> None:
        """Deliveries not yet done (pending and waiting for a retry)."""
        self.backlog.set(max(count, 0))

    def set_failing(self, count: int) -> None:
        """Feeds whose last poll failed."""
        self.failing.set(max(count, 0))

    def record_tick(self, finished_at: datetime, duration: float | None = None) -> None:
        """A poll tick finished at ``finished_at`` (timezone-aware), taking ``duration`` s."""
        if finished_at.tzinfo is None:
            raise ValueError("finished_at must be timezone-aware")
        self.last_tick.set(finished_at.timestamp())
        self.ticks.inc()
        if duration is not None and duration >= 0:
            self.tick_duration.observe(duration)

    def set_last_success(self, feed: str, at: datetime | None) -> None:
        """When ``feed`` was last polled successfully (Unix time; a stale feed alert)."""
        if at is None:
            return
        with self._lock:
            self._success_labels.add(_label(feed))
        self.last_success.labels(_label(feed)).set(at.timestamp())

    def retain_feeds(self, feeds: Collection[str]) -> None:
        """Drop the per-feed series of every feed not in ``feeds`` (call after a reload)."""
        keep = {_label(f) for f in feeds}
        with self._lock:
            stale_polls = {pair for pair in self._poll_labels if pair[0] not in keep}
            stale_feeds = {name for name in self._feed_labels if name not in keep}
            stale_success = {name for name in self._success_labels if name not in keep}
            self._poll_labels -= stale_polls
            self._feed_labels -= stale_feeds
            self._success_labels -= stale_success
        for name in stale_success:
            self.last_success.remove(name)
        for pair in stale_polls:
            self.polls.remove(*pair)
        for name in stale_feeds:
            self.articles.remove(name)

    def render(self) -> bytes:
        """The Prometheus text exposition of every series (see :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
