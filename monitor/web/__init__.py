"""The read-only web console: stories, a story, a topic's timeline, feeds, alert feeds.

:func:`create_app` builds the ASGI application from a :class:`Console` (the database
and the configured topics); :class:`WebServer` serves it (with ``/healthz`` and
``/metrics`` for `monitor run`). Nothing here writes to the database. Names are imported
on first use, so serving ``/healthz`` loads neither Jinja2 nor the page views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.web.app import create_app
    from monitor.web.server import WebServer, is_loopback
    from monitor.web.views import Console

_HOMES = {
    "Console": "views",
    "WebServer": "server",
    "create_app": "app",
    "is_loopback": "server",
}
__all__ = ["Console", "WebServer", "create_app", "is_loopback"]

__getattr__ = lazy_getattr(__name__, _HOMES)
