"""The read-only web console: stories, a story, a topic's timeline, feeds, alert feeds.

:func:`create_app` builds the ASGI application from a :class:`Console` (the database
and the configured topics); :class:`WebServer` serves it (with ``/healthz`` and
``/metrics`` for `monitor run`). Nothing here writes to the database.
"""

from monitor.web.app import create_app
from monitor.web.server import WebServer, is_loopback
from monitor.web.views import Console

__all__ = ["Console", "WebServer", "create_app", "is_loopback"]
