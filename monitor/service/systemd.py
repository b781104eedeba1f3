"""Talk to systemd's service manager (sd_notify) without a C library or a dependency.

``notify()`` sends one datagram to ``$NOTIFY_SOCKET`` (a path or an abstract ``@name``
socket); the helpers send the messages `monitor run` needs: ``READY=1``, ``RELOADING=1``
with ``MONOTONIC_USEC`` (systemd >= 253 checks it for ``Type=notify-reload``),
``STOPPING=1``, ``WATCHDOG=1`` and ``STATUS=``. ``watchdog_interval()`` reads the
watchdog period systemd granted (``WATCHDOG_USEC``/``WATCHDOG_PID``).

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op that returns False, so the
daemon calls them unconditionally. This module does not decide *when* to feed the
watchdog (only while ticks advance): that is the daemon's job.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval",
]


def _address(value: str) -> str | bytes | None:
    """``$NOTIFY_SOCKET`` → an AF_UNIX address; None for kinds we do not speak (vsock)."""
    if value.startswith("@"):
        # Abstract namespace: the leading NUL byte is the kernel's marker for it.
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


def notify(message: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (``KEY=VALUE`` lines) to systemd; True when it was sent.

    Never raises: a service manager that went away must not take the daemon with it.
    """
    env = os.environ if environ is None else environ
    target = env.get("NOTIFY_SOCKET", "")
    address = _address(target) if target else None
    if address is None or not message:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.sendto(message.encode(), address)
    except OSError:
        return False
    return True


def ready(*, environ: Mapping[str, str] | None = None) -> bool:
    """Start-up (or a reload) finished: systemd considers the unit active."""
    return notify("READY=1", environ=environ)


def reloading(*, environ: Mapping[str, str] | None = None) -> bool:
    """A reload began; send ``ready()`` when it is done (applied or refused)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={usec}", environ=environ)


def stopping(*, environ: Mapping[str, str] | None = None) -> bool:
    """Shutdown began: systemd stops expecting watchdog pings."""
    return notify("STOPPING=1", environ=environ)


def watchdog(*, environ: Mapping[str, str] | None = None) -> bool:
    """Tell the watchdog the daemon is making progress."""
    return notify("WATCHDOG=1", environ=environ)


def status(text: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """One line shown by ``systemctl status`` (newlines would end the field early)."""
    line = " ".join(text.split())[:200]
    return notify(f"STATUS={line}", environ=environ)


def watchdog_interval(*, environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds within which systemd expects ``WATCHDOG=1``; None when no watchdog is set.

    ``WATCHDOG_PID`` names the process the watchdog is meant for; another process
    (a child, say) inherits the variables but must not answer for the service.
    Ping at half this interval or more often.
    """
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC", "")
    pid_text = env.get("WATCHDOG_PID", "")
    if pid_text and (not pid_text.isdigit() or int(pid_text) != os.getpid()):
        return None
    if not usec_text.isdigit() or int(usec_text) == 0:
        return None
    return int(usec_text) / 1_000_000
