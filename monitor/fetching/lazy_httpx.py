"""httpx, imported when the fetcher first needs it, without rich and pygments.

The fetcher drives httpcore; httpx is only its reader of unusual URLs and redirects
(:mod:`monitor.fetching.urls`) and its TLS defaults. Imported on first use, httpx would
bring rich and pygments for its command-line client (~90 modules, ~4 MiB) into a poll
writing JSON lines, which :mod:`monitor.service.lean` keeps out when it imports httpx
up front; so they are hidden here as there (httpx falls back on a stub of its ``main``).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_HIDDEN = ("rich", "pygments")


def httpx() -> ModuleType:
    """The httpx module, imported now if nothing has imported it yet."""
    loaded = sys.modules.get("httpx")
    if loaded is not None:
        return loaded
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        return importlib.import_module("httpx")
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
