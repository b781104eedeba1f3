"""Fetching: the only code that fetches feeds (one guarded, bounded HTTP client).

Public surface: :class:`Fetcher` (``fetch`` → :class:`~monitor.types.FetchResult`, never
an exception for what a server does), its :class:`FetchSettings` (a leaf module),
:func:`check_url`. Error classification, the address guard, content coding and HTTP
hints are its own rooms. It does not parse, schedule or store. Imported lazily, so a
command that fetches nothing does not import httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.fetching.client import BadUrlError, Fetcher, check_url
    from monitor.fetching.errors import classify_exception
    from monitor.fetching.settings import FetchSettings

_HOMES = {
    "BadUrlError": "client",
    "FetchSettings": "settings",
    "Fetcher": "client",
    "check_url": "client",
    "classify_exception": "errors",
}
__all__ = [
    "BadUrlError",
    "FetchSettings",
    "Fetcher",
    "check_url",
    "classify_exception",
]


__getattr__ = lazy_getattr(__name__, _HOMES)
