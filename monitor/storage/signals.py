"""Storing the signals across outlets that :mod:`monitor.signals.rules` decides.

Inside the transaction that stores a poll: a feed joining a story adds its outlet and
may confirm the story (a held alert is released, or a ``confirmation`` follows the
alert); a topic's matches may start a surge (a ``surge`` alert); an alert of a hot topic
makes the feeds that carried it hot. On PostgreSQL these run under the per-topic lock
:func:`~monitor.storage.story_alerts.lock_topics` takes, so workers agree. Nothing here
decides; the rules do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from monitor.alerts.policy import AlertPolicy, alert_id
from monitor.signals.rules import (
    SURGE_HISTORY,
    Confirmation,
    SurgeOutcome,
    decide_confirmation,
    decide_surge,
)
from monitor.storage.alert_rows import (
    FIRST_POLL,
    insert_alert_without_article,
    insert_deliveries,
    next_seq,
    outlets_json,
    row_to_alert,
)
from monitor.storage.models import AlertRow, FeedRow, MatchRow
from monitor.types import Alert, as_utc, first_poll_time, format_time

UNCONFIRMED = "unconfirmed"
MAX_SURGE_TIMES = 50_000
"""Match times read to tell whether a surge calmed down (the newest)."""

Channels = Sequence[tuple[str, frozenset[str] | None]]


def held_or_confirmed(alert: Alert, policy: AlertPolicy, now: datetime) -> tuple[Alert, str | None]:
    """A new story's alert as stored: held (``unconfirmed``) under ``confirm:`` until
    enough outlets carried it, else raised (with ``confirmed_by`` if one outlet is enough)."""
    rule = policy.confirm.get(alert.topic)
    if rule is None or not rule.hold:
        return alert, None
    outcome, by = decide_confirmation(rule, alert.sightings(), now)
    if outcome is Confirmation.CONFIRMED:
        return replace(alert, confirmed_by=by, confirmed_at=now), None
    return alert, UNCONFIRMED


_JOINED = select(AlertRow.__table__).where(AlertRow.id == bindparam("story"))
"""The story a match joins, whole: read when a rule decides on it (or its lists are of
an older version)."""
_JOINED_LISTS = select(AlertRow.topic, AlertRow.feeds, AlertRow.outlets).where(
    AlertRow.id == bindparam("story")
)
"""What a join needs of its story when no rule decides: read for every match that joins
one (a story's summary and evidence are not decoded for it)."""
_APPEND = (
    update(AlertRow)
    .where(AlertRow.id == bindparam("story"))
    .values(feeds=bindparam("grown_feeds"), outlets=bindparam("grown_outlets"))
)
"""Built once: the fast path of :func:`join_story` writes a story's two lists grown."""


def _in_order(row: Any) -> bool:
    """The stored outlets are one per feed, in the feeds' order (as :func:`outlets_json`
    writes them; not so in rows of older versions, which take the long way)."""
    outlets, feeds = row.outlets, row.feeds
    if not outlets or not feeds or len(outlets) != len(feeds):
        return False
    # one list built and compared at C speed: a zip and a generator cost a widely
    # carried story's every join a Python step per feed
    named = [o.get("feed") if isinstance(o, dict) else _NOT_A_FEED for o in outlets]
    return bool(named == feeds)


def _first_poll_feeds(row: Any) -> set[str]:
    """The story's feeds whose stored time came from a first poll, which no earlier
    poll bounds from below (:data:`FIRST_POLL`)."""
    return {
        o["feed"]
        for o in row.outlets or ()
        if isinstance(o, dict) and o.get(FIRST_POLL) and isinstance(o.get("feed"), str)
    }


def _earliest_bounded(row: Any, now: datetime) -> datetime | None:
    """The earliest time an outlet carried the story that an earlier poll of its feed
    bounds (a first poll's does not: feeds all read for the first time, as at a first
    start, are ordered by their own dates); None when there is none. A stored time that
    is not known (None) or cannot be read still counts, as ``now`` (the latest it can
    be, as :meth:`~monitor.types.Alert.sightings` orders it): the story had a bounded
    sighting, so a first poll's date before now is not believed. An unreadable one is
    logged once (``stored_outlet_time_unreadable``)."""
    times = []
    for outlet in row.outlets or ():
        if not isinstance(outlet, dict) or outlet.get(FIRST_POLL):
            continue
        at = outlet.get("at")
        if at is None:  # not known (an older version's row): after every known time
            times.append(now)
            continue
        try:
            times.append(as_utc(datetime.fromisoformat(at)))
        except (TypeError, ValueError):
            _warn_unreadable_time(outlet, at)
            times.append(now)
    return min(times, default=None)


_unreadable_warned = threading.Event()
"""Set once a stored outlet's unreadable time was logged: one line per process."""


def _warn_unreadable_time(outlet: dict[str, Any], at: object) -> None:
    if _unreadable_warned.is_set():
        return
    _unreadable_warned.set()
    from monitor.log import get_logger

    get_logger("monitor.storage.signals").warning(
        "stored_outlet_time_unreadable",
        feed=outlet.get("feed"),
        at=repr(at)[:80],
        detail="a story's stored outlet has no readable time: it counts as carried now, "
        "so a feed read for the first time is not believed to have carried it earlier",
    )


_NOT_A_FEED = object()
"""Stands for an outlet that is not a mapping: equal to no feed name."""


def join_story(
    conn: Connection,
    story: str,
    feed: str,
    policy: AlertPolicy,
    channels: Channels,
    now: datetime,
    *,
    carried: datetime | None = None,
    first_poll: bool = False,
) -> Alert | None:
    """``feed`` carried the stored story ``story`` too, at ``carried`` (its article's
    :func:`~monitor.types.carried_time`; default ``now``): add it (with its outlet), and
    return the alert this confirms, if it does: the held alert, or a ``confirmation``.
    ``first_poll``: the feed's first poll brought the article, so no earlier poll bounds
    its date (:func:`~monitor.types.first_poll_time` does, by the story's sightings)."""
    if carried is None:
        carried = now
    lists = conn.execute(_JOINED_LISTS, {"story": story}).first()
    if lists is None or feed in (lists.feeds or ()):
        return None  # gone, or carried by this feed already: nothing to add
    unbounded = _first_poll_feeds(lists)
    if first_poll:
        carried = first_poll_time(carried, _earliest_bounded(lists, now), now)
        unbounded.add(feed)  # no earlier poll bounds its time from below
    if lists.topic not in policy.confirm and lists.topic not in policy.hot and _in_order(lists):
        # Nothing to decide: append the feed and its outlet to the stored lists as they
        # are (decoding every outlet of a story and writing them back anew, for each
        # feed that joins it, made a widely carried story quadratic to store).
        entry = {"feed": feed, "at": format_time(carried), **policy.source_of(feed).to_json()}
        if feed in unbounded:
            entry[FIRST_POLL] = True
        conn.execute(
            _APPEND,
            {
                "story": story,
                "grown_feeds": [*lists.feeds, feed],
                "grown_outlets": [*lists.outlets, entry],
            },
        )
        return None
    row = conn.execute(_JOINED, {"story": story}).first()
    if row is None:
        return None
    known = row_to_alert(row)
    feeds = [*known.feeds, feed]
    grown = replace(
        known,
        feeds=tuple(feeds),
        outlets=(*known.outlet_times(), (feed, carried)),
        sources=(*known.sources, (feed, policy.source_of(feed))),
    )
    values: dict[str, object] = {"feeds": feeds, "outlets": outlets_json(grown, unbounded)}
    found: Alert | None = None
    rule = policy.confirm.get(known.topic)
    if rule is not None and not known.confirmed_by:
        wanted = row.state == UNCONFIRMED if rule.hold else row.state is None
        outcome, by = decide_confirmation(rule, grown.sightings(), now)
        if wanted and outcome is Confirmation.CONFIRMED:
            values.update(confirmed_by=list(by), confirmed_at=now)
            found = replace(grown, confirmed_by=by, confirmed_at=now)
            if rule.hold:
                # Released now: listed and followed from now on, delivered as a new alert.
                values.update(state=None, seq=next_seq(now))
    conn.execute(update(AlertRow).where(AlertRow.id == story).values(**values))
    if row.state is None:
        heat_feeds(conn, grown, policy, now, joined=feed)
    if found is None:
        return None
    if rule is not None and rule.hold:
        insert_deliveries(conn, found, channels, now)
        return found
    return _follow_up(conn, found, channels, now, unbounded)


def _follow_up(
    conn: Connection, story: Alert, channels: Channels, now: datetime, first_poll: set[str]
) -> Alert | None:
    """The one ``confirmation`` message of a story alerted at its first sighting, its
    stored outlets as the story's (``first_poll``: its feeds a first poll dated)."""
    key = f"confirmation:{story.id}"
    alert = replace(
        story,
        id=alert_id(story.topic, key),
        kind="confirmation",
        detected_at=now,
    )
    stored = insert_alert_without_article(
        conn, alert, story=key, channels=channels, now=now, first_poll=first_poll
    )
    return alert if stored else None


def heat_feeds(
    conn: Connection, alert: Alert, policy: AlertPolicy, now: datetime, joined: str | None = None
) -> None:
    """Poll the feeds that carried a fresh alert of a hot topic faster, until the spell
    (counted from the alert) ends. ``joined``: only that feed, which just joined it."""
    rule = policy.hot.get(alert.topic)
    if rule is None:
        return
    raised = alert.confirmed_at or alert.detected_at
    until = raised + rule.for_
    if now >= until:
        return
    names = [joined] if joined else list(alert.feeds or (alert.feed,))
    soon = now + rule.interval
    rows = conn.execute(
        select(FeedRow.id, FeedRow.next_poll, FeedRow.next_poll_reason, FeedRow.hot_until).where(
            FeedRow.name.in_(names), FeedRow.enabled.is_(True), FeedRow.status != "gone"
        )
    ).all()
    for row in rows:
        if row.hot_until is not None and row.hot_until >= until:
            continue
        next_poll = soon if row.next_poll is None else min(row.next_poll, soon)
        reason = "hot" if next_poll != row.next_poll else row.next_poll_reason
        conn.execute(
            update(FeedRow)
            .where(FeedRow.id == row.id)
            .values(
                hot_until=until,
                hot_interval_s=rule.interval.total_seconds(),
                hot_topic=alert.topic,
                next_poll=next_poll,
                next_poll_reason=reason,
            )
        )


def check_surges(
    conn: Connection,
    topics: Iterable[str],
    policy: AlertPolicy,
    channels: Channels,
    now: datetime,
) -> list[Alert]:
    """After a poll's matches are stored: a ``surge`` alert for each topic whose coverage
    just surged (once per surge)."""
    raised: list[Alert] = []
    for topic in sorted(set(topics)):
        rule = policy.surge.get(topic)
        if rule is None or not policy.raise_alerts:
            continue
        start = now - rule.window
        count = _count_matches(conn, topic, start, now)
        history = _count_matches(conn, topic, start - SURGE_HISTORY, start)
        last = conn.execute(
            select(func.max(AlertRow.detected_at)).where(
                AlertRow.topic == topic, AlertRow.kind == "surge"
            )
        ).scalar()
        times: list[datetime] = []
        if last is not None:
            times = sorted(
                conn.execute(
                    select(MatchRow.matched_at)
                    .where(MatchRow.topic == topic, MatchRow.matched_at > last - rule.window)
                    .order_by(MatchRow.matched_at.desc())
                    .limit(MAX_SURGE_TIMES)
                ).scalars()
            )
        outcome = decide_surge(
            rule, count=count, history=history, last_surge=last, times=times, now=now
        )
        if outcome is SurgeOutcome.STARTS:
            alert = _surge_alert(topic, policy, count, history, rule.window, now)
            if insert_alert_without_article(
                conn, alert, story=f"surge:{format_time(now)}", channels=channels, now=now
            ):
                raised.append(alert)
    return raised


def _count_matches(conn: Connection, topic: str, after: datetime, until: datetime) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                MatchRow.topic == topic, MatchRow.matched_at > after, MatchRow.matched_at <= until
            )
        ).scalar()
        or 0
    )


def _surge_alert(
    topic: str, policy: AlertPolicy, count: int, history: int, window: timedelta, now: datetime
) -> Alert:
    name = policy.topic_names.get(topic, topic)
    per_window = history / (SURGE_HISTORY / window)
    minutes = int(window.total_seconds() // 60)
    span = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
    return Alert(
        id=alert_id(topic, f"surge:{format_time(now)}"),
        kind="surge",
        topic=topic,
        topic_name=name,
        title=f"surge: {name}: {count} matches in {span} (usually {per_window:.1f})",
        url=None,
        feed="",
        published=None,
        detected_at=now,
        evidence=(),
        summary=f"{count} matched articles in the last {span}; 7-day mean {per_window:.2f}",
    )
