"""A feed's next poll while a story it carried is hot (``topics[].hot``): pure.

After an alert of a topic with ``hot:``, storage marks the feeds that carried the story
hot until a moment, at an interval (:mod:`monitor.storage.signals`); this decides what
that does to the next poll the schedule planned. It never makes a poll later, never
earlier than the server asked (Retry-After) nor than the politeness floor, and ends
on time: once ``hot_until`` has passed, the feed's own schedule stands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.signals.spec import HOT_MIN_INTERVAL


def hot_next_poll(
    planned: datetime | None,
    *,
    hot_until: datetime | None,
    hot_interval: timedelta | None,
    now: datetime,
    not_before: datetime | None = None,
) -> datetime | None:
    """``planned``, or sooner while hot (``now < hot_until``); None (not polled) stays."""
    if planned is None or hot_until is None or hot_interval is None or now >= hot_until:
        return planned
    sooner = now + max(hot_interval, HOT_MIN_INTERVAL)
    if not_before is not None:
        sooner = max(sooner, not_before)
    return min(planned, sooner)


def is_hot(hot_until: datetime | None, now: datetime) -> bool:
    """Whether a feed's next poll is set by a hot story (``next_poll_reason: hot``)."""
    return hot_until is not None and now < hot_until
