"""The running service: wiring, poll passes, delivery, the daemon, health, systemd.

Public surface: :func:`build_app` / :class:`App` (what `monitor poll` and `monitor run`
share), :func:`run_pass` (the claim/lease pool of one poll pass), :class:`Deliverer`,
:func:`run_daemon`. No decision about a feed or an alert is made here. Imported lazily.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.service.app import App, alert_policy, build_app
    from monitor.service.daemon import run_daemon
    from monitor.service.delivery import Deliverer
    from monitor.service.passes import run_pass

_HOMES = {
    "App": "app",
    "Deliverer": "delivery",
    "alert_policy": "app",
    "build_app": "app",
    "run_daemon": "daemon",
    "run_pass": "passes",
}
__all__ = [
    "App",
    "Deliverer",
    "alert_policy",
    "build_app",
    "run_daemon",
    "run_pass",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
