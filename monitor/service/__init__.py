"""The running service: wiring, poll passes, delivery, the daemon, health, systemd.

Public surface: :func:`build_app` / :class:`App` (what `monitor poll` and `monitor run`
share), :func:`run_pass` (the claim/lease pool of one poll pass), :class:`Deliverer`,
:func:`run_daemon`. No decision about a feed or an alert is made here. Imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_getattr

if TYPE_CHECKING:
    from monitor.service.app import App, alert_policy, build_app
    from monitor.service.delivery import Deliverer
    from monitor.service.passes import run_pass
    from monitor.service.run import run_daemon

_HOMES = {
    "App": "app",
    "Deliverer": "delivery",
    "alert_policy": "app",
    "build_app": "app",
    "run_daemon": "run",
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


__getattr__ = lazy_getattr(__name__, _HOMES)
