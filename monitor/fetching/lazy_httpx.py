"""httpx, imported when the fetcher first needs it, without rich and pygments.

The fetcher drives httpcore; httpx is only its reader of unusual URLs and redirects
(:mod:`monitor.fetching.urls`) and its TLS defaults. Imported on first use, httpx would
bring rich and pygments for its command-line client (~90 modules, ~4 MiB) into a poll
writing JSON lines: it is imported by :func:`monitor.lean.import_without_rich`, as the
daemon imports it up front (httpx falls back on a stub of its ``main``).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from monitor.lean import import_without_rich


def httpx() -> ModuleType:
    """The httpx module, imported now if nothing has imported it yet."""
    if "httpx" not in sys.modules:
        import_without_rich(("httpx",))
    # Through the import system, not sys.modules: while another polling thread imports
    # httpx, its module is there half made; the import waits until it is whole.
    return importlib.import_module("httpx")
