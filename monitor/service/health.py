"""What ``/healthz`` says: the daemon's health rule and the check's answer, no server.

:func:`tick_health` is the pure rule the daemon's ``check`` uses: healthy while the last
tick finished within three tick intervals and the database answers.
:func:`run_health_check` turns a check (even a broken one) into the endpoint's status
and JSON body, with a ``reason`` when unhealthy; :func:`parse_listen` reads
``http.listen``; :data:`SERVER_NAME` is the ``Server`` header. Serving ``/healthz`` and
``/metrics`` over HTTP is :mod:`monitor.web`'s (the console's server); this module does
not serve, query the database or read the clock itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "SERVER_NAME",
    "HealthCheck",
    "parse_listen",
    "run_health_check",
    "tick_health",
]

HealthCheck = Callable[[], tuple[bool, dict[str, object]]]
"""Returns (healthy, details); details go into the JSON body."""

STALE_TICKS = 3


def _package_version() -> str:
    try:
        return version("monitor")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


_VERSION = _package_version()
SERVER_NAME = f"monitor/{_VERSION}"


def tick_health(
    last_tick_finished: datetime | None,
    tick_interval: timedelta,
    now: datetime,
    db_ok: bool,
    *,
    started_at: datetime | None = None,
    slack: timedelta = timedelta(0),
) -> tuple[bool, dict[str, object]]:
    """Healthy when the last tick finished within 3 intervals and the database answers.

    ``slack`` is how long one tick may legitimately run besides: a tick waits for its
    slowest feed, which may take the fetch and parse deadlines. Without it, a daemon
    with a short tick and one hanging server would be reported dead (and restarted by
    a container runtime) while it works as designed. Before the first tick finishes,
    ``started_at`` (when given) grants the same grace, so a daemon that just started
    is not reported dead.
    """
    limit = tick_interval * STALE_TICKS + slack
    reasons: list[str] = []
    details: dict[str, object] = {
        "database": "ok" if db_ok else "unreachable",
        "tick_interval_seconds": tick_interval.total_seconds(),
        "tick_limit_seconds": limit.total_seconds(),
        "last_tick": last_tick_finished.isoformat() if last_tick_finished else None,
        "last_tick_age_seconds": None,
    }
    if not db_ok:
        reasons.append("database unreachable")
    if last_tick_finished is not None:
        age = now - last_tick_finished
        details["last_tick_age_seconds"] = round(age.total_seconds(), 3)
        if age > limit:
            reasons.append(
                f"last tick finished {age.total_seconds():.0f}s ago "
                f"(limit {limit.total_seconds():.0f}s)"
            )
    elif started_at is None or now - started_at > limit:
        reasons.append("no tick has finished yet")
    if reasons:
        details["reason"] = "; ".join(reasons)
    details["status"] = "unhealthy" if reasons else "ok"
    return not reasons, details


def run_health_check(check: HealthCheck) -> tuple[bool, dict[str, object]]:
    """``check()``, with a failure of the check itself reported as unhealthy (the
    endpoint must answer even when the check is broken); the body always has a
    ``status``, and a ``reason`` when unhealthy. The web console's ``/healthz`` answers it."""
    try:
        ok, details = check()
    except Exception as exc:
        return False, {
            "status": "unhealthy",
            "reason": f"health check failed: {type(exc).__name__}",
        }
    result = dict(details)
    result.setdefault("status", "ok" if ok else "unhealthy")
    if not ok:
        result.setdefault("reason", "unhealthy")
    return ok, result


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` → (host, port); ValueError otherwise."""
    host, sep, port_text = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"listen must be HOST:PORT, not {listen!r}")
    return host, int(port_text)
