"""When a channel may speak: digest periods (``digest: 1h``, ``"daily 08:00 Europe/Berlin"``)
and rate windows (``rate: 10/m``).

Pure: times in, times out. A period or window is a half-open interval ``[start, end)``
in UTC. Periods of a duration are aligned to the Unix epoch, so every worker, and a
restarted one, cuts the same periods; daily periods run from one local wall-clock time
to the next (23 or 25 hours across a DST change). What is held and sent is the
outbox's and the deliverer's business, not this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DAILY = re.compile(r"^\s*daily\s+(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*$", re.IGNORECASE)
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(s|m|h|d)\s*$")


def _seconds(number: str, unit: str) -> float:
    return float(number) * _UNITS[unit]


@dataclass(frozen=True, slots=True)
class Digest:
    """One message per period: every ``every`` (epoch-aligned), or daily at ``at`` in
    ``zone``."""

    text: str
    every: timedelta | None = None
    at: time | None = None
    zone: str = "UTC"

    def period(self, now: datetime) -> tuple[datetime, datetime]:
        """The period ``now`` falls in."""
        if self.every is not None:
            size = self.every.total_seconds()
            index = int((now - _EPOCH).total_seconds() // size)
            start = _EPOCH + timedelta(seconds=index * size)
            return start, _EPOCH + timedelta(seconds=(index + 1) * size)
        assert self.at is not None
        tz = ZoneInfo(self.zone)
        local = now.astimezone(tz)
        day = local.date()
        start_local = datetime.combine(day, self.at, tzinfo=tz)
        if start_local.astimezone(UTC) > now:
            day -= timedelta(days=1)
            start_local = datetime.combine(day, self.at, tzinfo=tz)
        end_local = datetime.combine(day + timedelta(days=1), self.at, tzinfo=tz)
        return start_local.astimezone(UTC), end_local.astimezone(UTC)


def parse_digest(value: str) -> Digest:
    """``1h`` / ``30m`` / ``2d``, or ``daily HH:MM [Zone/Name]``; ValueError otherwise."""
    text = str(value).strip()
    match = _DURATION.match(text)
    if match:
        seconds = _seconds(match.group(1), match.group(2))
        if seconds < 60:
            raise ValueError(f"digest period must be at least 1m, not {text!r}")
        return Digest(text=text, every=timedelta(seconds=seconds))
    daily = _DAILY.match(text)
    if daily:
        hour, minute, zone = int(daily.group(1)), int(daily.group(2)), daily.group(3) or "UTC"
        if hour > 23 or minute > 59:
            raise ValueError(f"digest time must be HH:MM between 00:00 and 23:59, not {text!r}")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone[:60]!r} (write e.g. Europe/Berlin)"
            ) from None
        return Digest(text=text, at=time(hour, minute), zone=zone)
    raise ValueError(f'digest must be a duration (1h) or "daily HH:MM Zone/Name", not {text!r}')


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` messages per ``per`` (epoch-aligned windows)."""

    text: str
    count: int
    per: timedelta

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        size = self.per.total_seconds()
        index = int((now - _EPOCH).total_seconds() // size)
        return (
            _EPOCH + timedelta(seconds=index * size),
            _EPOCH + timedelta(seconds=(index + 1) * size),
        )


def parse_rate(value: str) -> Rate:
    """``10/m``, ``100/h``, ``5/30s``: at least 1 message per window of at least 1s."""
    text = str(value).strip()
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"rate must look like 10/m, 100/h or 5/30s, not {text!r}")
    count = int(match.group(1))
    seconds = _seconds(match.group(2) or "1", match.group(3))
    if count < 1 or seconds < 1:
        raise ValueError(f"rate must allow at least 1 message per second or longer: {text!r}")
    return Rate(text=text, count=count, per=timedelta(seconds=seconds))
