"""The daemon's libraries imported without the parts it never uses.

structlog and httpx each import rich when it is installed: structlog to show tracebacks
in its console renderer, httpx for its command-line client (``httpx._main``, which also
loads pygments' lexers). With them come attrs and ~90 modules, ~4 MiB resident in a
process that lives for months. A daemon writing JSON lines needs neither, so
:func:`import_without_rich` imports both while ``import rich`` and ``import pygments``
fail (each library falls back on its own: structlog on plain tracebacks, httpx on a
stub of its command-line ``main``), then lets them be imported again by anything that
asks later (the CLI's tables). It does not change what a line or a request looks like.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["HIDDEN", "import_without_rich"]

HIDDEN = ("rich", "pygments")
LIBRARIES = ("structlog", "httpx")


def import_without_rich(libraries: tuple[str, ...] = LIBRARIES) -> None:
    """Import ``libraries`` (structlog and httpx) with rich and pygments hidden (see the
    module)."""
    if all(name in sys.modules for name in libraries):
        return
    hidden = [name for name in HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        for name in libraries:
            importlib.import_module(name)
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
