"""Feed dates as feedparser reads them, the two common forms without its chain of parsers.

feedparser's ``_parse_date`` tries nine parsers in turn on every date (W3C-DTF first,
then RFC 822, ISO 8601, asctime, …), each splitting and lower-casing the string again.
Nearly every feed writes one of two forms: RFC 822 (``Fri, 15 Aug 2025 21:30:00 +0300``)
or W3C-DTF / ISO 8601 (``2025-08-15T21:30:00Z``). :func:`parse_date` reads exactly those
with one anchored regex each and does feedparser's arithmetic on them (its two-digit
years, its zone names, its reading of ``+hhmm`` in W3C-DTF, which keeps only the last
digit of the minutes); anything else, and anything those regexes match that does not
make a valid date, goes to feedparser's ``_parse_date`` as before. Years outside
1900–2099 go there too, so no edge of the calendar is reasoned about here.

``tests/parsing/test_feed_dates.py`` checks the two give the same instant on every date
of the test corpora and on generated strings of both forms. Pure functions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from feedparser.datetimes import _parse_date as parse_feed_date

from monitor.parsing.feed_fields import utc_time

__all__ = ["parse_date"]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# feedparser's RFC 822 zone names (hours east of UTC); "utc" is not among them, but it
# reads every unknown name as UTC, so "utc" is 0 there too. Other unknown names go back
# to feedparser (a misspelt zone is rare; what it means there is its business).
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "adt": -3, "ast": -4, "at": -4, "edt": -4, "est": -5, "et": -5,
    "cdt": -5, "cst": -6, "ct": -6, "mdt": -6, "mst": -7, "mt": -7,
    "pdt": -7, "pst": -8, "pt": -8, "met": 1, "mest": 2,
}  # fmt: skip
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun), )?(\d{1,2}) ([a-z]{3}) ((?:19|20)?\d\d) "
    r"(\d\d):(\d\d)(?::(\d\d))? ([+-]\d\d:?\d\d|[a-z]{1,4})",
    re.IGNORECASE,
)
_W3DTF = re.compile(
    r"((?:19|20)\d\d)-(\d\d)-(\d\d)"
    r"(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?",
    re.IGNORECASE,
)


def parse_date(text: str) -> datetime | None:
    """The UTC instant feedparser reads from a feed's date text; None where it reads none."""
    found = _fast_date(text)
    if found is not None:
        return found
    return utc_time(parse_feed_date(text))


def _fast_date(text: str) -> datetime | None:
    """The instant when ``text`` is plainly RFC 822 or W3C-DTF; None to ask feedparser."""
    match = _W3DTF.fullmatch(text) if text[4:5] == "-" else None
    if match is not None:
        year, month, day, hour, minute, second, zone = match.groups()
        east = timedelta(0) if zone is None or zone in "Zz" else _offset(zone, 4)
        return _instant(year, month, day, hour or "0", minute or "0", second or "0", east)
    match = _RFC822.fullmatch(text)
    if match is None:
        return None
    day, name, year, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(name.lower())
    if month is None:
        return None
    if len(year) == 2:
        year = str(int(year) + (1900 if int(year) >= 90 else 2000))
    if zone[0] in "+-":
        east = _offset(zone, 4 if ":" in zone else 3)
    else:
        hours = _ZONES.get(zone.lower())
        if hours is None:
            return None
        east = timedelta(hours=hours)
    return _instant(year, str(month), day, hour, minute, second or "0", east)


def _offset(zone: str, minutes_at: int) -> timedelta:
    """``+hh:mm`` / ``+hhmm`` as feedparser's parsers read it: hours from the two digits
    after the sign, minutes from ``minutes_at`` on (its W3C-DTF parser reads them from the
    fifth character even without a colon, so ``+0530`` is five hours there)."""
    east = timedelta(hours=int(zone[1:3]), minutes=int(zone[minutes_at:]))
    return -east if zone[0] == "-" else east


def _instant(
    year: str, month: str, day: str, hour: str, minute: str, second: str, east: timedelta
) -> datetime | None:
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None  # feedparser's other parsers may still read it
    return (local - east).replace(tzinfo=UTC)
